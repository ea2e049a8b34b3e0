package ovftarget

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// DeploymentOption is one deploy-time configuration of DSP0243's
// DeploymentOptionSection: vCenter's deploy wizard ("Configuration") and
// ovftool's --deploymentOption offer it by ID, and the importer then uses,
// of the hardware items, those without ovf:configuration and those whose
// ovf:configuration names the chosen ID.
type DeploymentOption struct {
	ID, Label, Description string
	Default                bool
	CPUs                   int   // 0: the VM's own
	MemoryMiB              int64 // 0: the VM's own
}

// AddDeploymentOptions writes opts into a (customized) descriptor for
// target. For vsphere: a DeploymentOptionSection before the VirtualSystem,
// exactly one Configuration with ovf:default="true" (the option marked
// Default, else the first, which is what importers take when none is
// marked), and for each option with CPUs or MemoryMiB a copy of the VM's
// CPU or memory item right after it, with that quantity and
// ovf:configuration="<id>" and the same InstanceID. The VM's own items
// stay, unconditioned, for every option that does not change them. DSP0243
// (VirtualHardwareSection, Item semantics) lets several Items share an
// InstanceID and has the importer merge the selected ones in document
// order, a later Item's elements replacing an earlier one's; so the copy
// follows its original, and a reader that simply takes the last selected
// Item (govmomi's simulator) gets the same result. The copy is whole (not
// just VirtualQuantity) for readers that do not merge.
//
// Workstation and VirtualBox have no configurations (both read every Item
// and would see two CPU items), so for them and for portable the OVA
// describes the default option only: its CPUs and memory replace the VM's,
// no section is written, and a warning names the options left out.
func AddDeploymentOptions(descriptor []byte, target Target, opts []DeploymentOption) (*Result, error) {
	if len(opts) == 0 {
		return &Result{Descriptor: descriptor}, nil
	}
	d, err := ovf.Parse(descriptor)
	if err != nil {
		return nil, err
	}
	s := &session{doc: d.Document(), target: target, rules: target.rules(), ns: d.Namespace()}
	def := 0
	for i, o := range opts {
		if o.Default {
			def = i
		}
	}
	cpu, mem, err := s.sizeItems(opts)
	if err != nil {
		return nil, err
	}
	if target != VSphere {
		err = s.defaultOnly(opts, def, cpu, mem)
	} else {
		err = s.deploymentSection(opts, def, cpu, mem)
	}
	if err != nil {
		return nil, err
	}
	out := s.doc.Bytes()
	if _, err := ovf.Parse(out); err != nil {
		return nil, fmt.Errorf("internal error: descriptor with deployment options does not read back: %w", err)
	}
	return &Result{Descriptor: out, Warnings: s.warnings}, nil
}

// sizeItems finds the VM's CPU and memory items (the ones options copy),
// refusing a descriptor that has configurations of its own.
func (s *session) sizeItems(opts []DeploymentOption) (cpu, mem *ovf.Item, err error) {
	if _, err := s.singleSystem("deployment_option"); err != nil {
		return nil, nil, err
	}
	for _, sec := range s.doc.Root().Children() {
		if ovf.IsOVF(sec, "DeploymentOptionSection") {
			return nil, nil, fmt.Errorf("deployment_option: the descriptor already has a DeploymentOptionSection (line %d); remove the deployment_option blocks or the section", sec.Line())
		}
	}
	for _, it := range ovf.Items(s.doc) {
		if _, ok := ovf.OVFAttr(it.Elem, "configuration"); ok {
			return nil, nil, fmt.Errorf("deployment_option: hardware item %s already has ovf:configuration; the descriptor has configurations of its own", it.Describe())
		}
		switch it.ResourceType {
		case hardware.TypeProcessor:
			if cpu == nil {
				cpu = &it
			}
		case hardware.TypeMemory:
			if mem == nil {
				mem = &it
			}
		}
	}
	for _, o := range opts {
		if o.CPUs > 0 && cpu == nil {
			return nil, nil, fmt.Errorf("deployment_option %q sets CPUs, but the descriptor has no CPU item (ResourceType 3) to vary", o.ID)
		}
		if o.MemoryMiB > 0 && mem == nil {
			return nil, nil, fmt.Errorf("deployment_option %q sets RAM, but the descriptor has no memory item (ResourceType 4) to vary", o.ID)
		}
	}
	return cpu, mem, nil
}

// deploymentSection writes the section and the per-option item copies.
func (s *session) deploymentSection(opts []DeploymentOption, def int, cpu, mem *ovf.Item) error {
	vs, _ := s.singleSystem("deployment_option")
	ed := s.doc.Edit()
	children := []*ovf.Node{s.node("Info", "Deployment configurations")}
	for i, o := range opts {
		label, desc := o.Label, o.Description
		if label == "" {
			label = o.ID
		}
		if desc == "" {
			desc = label // DSP0243's schema requires both elements
		}
		c := s.node("Configuration", "", s.node("Label", label), s.node("Description", desc))
		c.Attrs = []xml.Attr{{Name: s.name("id"), Value: o.ID}}
		if i == def {
			c.Attrs = append(c.Attrs, xml.Attr{Name: s.name("default"), Value: "true"})
		}
		children = append(children, c)
	}
	ed.InsertBefore(vs, s.node("DeploymentOptionSection", "", children...))
	for _, o := range opts { // insertions after the same item land in this order
		if o.MemoryMiB > 0 {
			ed.InsertAfter(mem.Elem, s.itemCopy(mem, o.ID, strconv.FormatInt(o.MemoryMiB, 10), fmt.Sprintf("%dMB of memory", o.MemoryMiB), true))
		}
		if o.CPUs > 0 {
			ed.InsertAfter(cpu.Elem, s.itemCopy(cpu, o.ID, strconv.Itoa(o.CPUs), fmt.Sprintf("%d virtual CPU(s)", o.CPUs), false))
		}
	}
	return s.apply(ed)
}

// itemCopy is it with another quantity, for configuration id. A memory
// copy states its quantity in MiB; a CPU copy drops a vmw:CoresPerSocket
// that does not divide its count.
func (s *session) itemCopy(it *ovf.Item, id, qty, name string, memory bool) *ovf.Node {
	n := &ovf.Node{Name: it.Elem.Name, Attrs: []xml.Attr{{Name: s.name("configuration"), Value: id}}}
	for _, a := range it.Elem.Attrs() {
		if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
			n.Attrs = append(n.Attrs, xml.Attr{Name: a.Name, Value: a.Value})
		}
	}
	for _, c := range it.Elem.Children() {
		text := c.Text()
		switch c.Name.Local {
		case "VirtualQuantity":
			text = qty
		case "ElementName":
			text = name
		case "AllocationUnits":
			if memory {
				text = hardware.UnitsMiB
			}
		case "CoresPerSocket":
			if cps, err := strconv.Atoi(strings.TrimSpace(text)); err != nil || cps <= 0 || mustAtoi(qty)%cps != 0 {
				continue
			}
		}
		n.Children = append(n.Children, copyNode(c, text))
	}
	return n
}

func mustAtoi(s string) int { n, _ := strconv.Atoi(s); return n }

// copyNode is a leaf element of an item (rasd:*, vmw:CoresPerSocket) with
// its attributes and the given text.
func copyNode(e *ovf.Element, text string) *ovf.Node {
	n := &ovf.Node{Name: e.Name, Text: text}
	for _, a := range e.Attrs() {
		if a.Name.Space != "xmlns" && a.Name.Local != "xmlns" {
			n.Attrs = append(n.Attrs, xml.Attr{Name: a.Name, Value: a.Value})
		}
	}
	return n
}

// defaultOnly gives the VM the default option's size, for targets without
// configurations.
func (s *session) defaultOnly(opts []DeploymentOption, def int, cpu, mem *ovf.Item) error {
	o := opts[def]
	ed := s.doc.Edit()
	if o.CPUs > 0 {
		if q := cpu.Child("VirtualQuantity"); q != nil {
			ed.SetText(q, strconv.Itoa(o.CPUs))
		}
		if cps := cpu.Child("CoresPerSocket"); cps != nil {
			if n := mustAtoi(strings.TrimSpace(cps.Text())); n <= 0 || o.CPUs%n != 0 {
				ed.Remove(cps)
			}
		}
	}
	if o.MemoryMiB > 0 {
		if q, u := mem.Child("VirtualQuantity"), mem.Child("AllocationUnits"); q != nil && u != nil {
			ed.SetText(q, strconv.FormatInt(o.MemoryMiB, 10))
			ed.SetText(u, hardware.UnitsMiB)
		} else {
			return fmt.Errorf("deployment_option %q: memory item %s has no VirtualQuantity or AllocationUnits to set", o.ID, mem.Describe())
		}
	}
	var others []string
	for i, other := range opts {
		if i != def {
			others = append(others, other.ID)
		}
	}
	if len(others) > 0 {
		s.warn("deployment options are a vSphere feature; this OVA describes the default option %q only (%s), options %s are left out",
			o.ID, describeSize(o), strings.Join(others, ", "))
	}
	return s.apply(ed)
}

func describeSize(o DeploymentOption) string {
	var parts []string
	if o.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("%d CPUs", o.CPUs))
	}
	if o.MemoryMiB > 0 {
		parts = append(parts, fmt.Sprintf("%d MiB", o.MemoryMiB))
	}
	if len(parts) == 0 {
		return "the VM's own size"
	}
	return strings.Join(parts, ", ")
}
