package vsphereovaqemu

import (
	"encoding/xml"
	"fmt"
	"strconv"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// descriptorEdits are the changes the build makes to the source's OVF;
// zero values keep what the source says.
type descriptorEdits struct {
	// Name is the VM's name (vm_name): VirtualSystem ovf:id and its Name,
	// as vSphere exports a VM.
	Name                 string
	CPUs, CoresPerSocket int
	MemoryMiB            int64
	// Firmware ("bios"/"efi") and SecureBoot are written as vSphere's
	// export spells them (vmw:Config firmware and
	// bootOptions.efiSecureBootEnabled) when Firmware is set.
	Firmware   string
	SecureBoot bool
	Disks      []diskEdit
}

// diskEdit renames one disk's file and records its new sizes.
type diskEdit struct {
	DiskID        string
	OldHref       string
	NewHref       string
	FileSize      int64 // bytes of the VMDK (File/@ovf:size)
	Capacity      int64 // bytes of virtual disk (Disk/@ovf:capacity)
	PopulatedSize int64 // Disk/@ovf:populatedSize, written only where the source has it
}

// editDescriptor applies e to the source descriptor with the faithful
// editor: only the attribute values and element texts that change are
// rewritten, every other byte stays as the source has it. One round per
// kind of element, so no two edits touch the same start tag at once.
func editDescriptor(src []byte, e descriptorEdits) ([]byte, error) {
	doc, err := ovf.ParseDocument(src)
	if err != nil {
		return nil, err
	}
	x := &descriptorEditor{ns: doc.Root().Name.Space, e: e}
	rounds := []func(*ovf.Document, *ovf.Editor) error{
		x.fileHrefs, x.fileSizes, x.diskCapacities, x.hardwareQuantities, x.systemName, x.firmware,
	}
	for _, round := range rounds {
		ed := doc.Edit()
		if err := round(doc, ed); err != nil {
			return nil, fmt.Errorf("editing the descriptor: %w", err)
		}
		if doc, err = ed.Apply(); err != nil {
			return nil, fmt.Errorf("editing the descriptor: %w", err)
		}
	}
	return doc.Bytes(), nil
}

// descriptorEditor holds the rounds of editDescriptor: ns is the OVF
// namespace the source uses (1.0 or 2.0).
type descriptorEditor struct {
	ns string
	e  descriptorEdits
}

func (x *descriptorEditor) attr(local string) xml.Name { return xml.Name{Space: x.ns, Local: local} }

// fileHrefs renames References/File to the export's disk names.
func (x *descriptorEditor) fileHrefs(doc *ovf.Document, ed *ovf.Editor) error {
	refs := doc.Root().Child(x.ns, "References")
	for _, d := range x.e.Disks {
		f := findChild(refs, x.ns, "File", "href", d.OldHref)
		if f == nil {
			return fmt.Errorf("References has no File with href %q", d.OldHref)
		}
		ed.SetAttr(f, x.attr("href"), d.NewHref)
	}
	return nil
}

// fileSizes writes the new VMDKs' sizes into References/File.
func (x *descriptorEditor) fileSizes(doc *ovf.Document, ed *ovf.Editor) error {
	refs := doc.Root().Child(x.ns, "References")
	for _, d := range x.e.Disks {
		ed.SetAttr(findChild(refs, x.ns, "File", "href", d.NewHref), x.attr("size"), strconv.FormatInt(d.FileSize, 10))
	}
	return nil
}

// diskCapacities writes DiskSection/Disk capacity (in the source's units
// when they divide it, else in bytes) and populatedSize where it was.
func (x *descriptorEditor) diskCapacities(doc *ovf.Document, ed *ovf.Editor) error {
	ds := doc.Root().Child(x.ns, "DiskSection")
	for _, d := range x.e.Disks {
		el := findChild(ds, x.ns, "Disk", "diskId", d.DiskID)
		if el == nil {
			return fmt.Errorf("DiskSection has no Disk %q", d.DiskID)
		}
		units, _ := el.Attr(x.ns, "capacityAllocationUnits")
		shift := uint(0)
		if units != "" {
			if s, err := hardware.ParseUnits(units); err == nil {
				shift = s
			}
		}
		if d.Capacity%(int64(1)<<shift) == 0 {
			ed.SetAttr(el, x.attr("capacity"), strconv.FormatInt(d.Capacity>>shift, 10))
		} else {
			ed.SetAttr(el, x.attr("capacity"), strconv.FormatInt(d.Capacity, 10))
			ed.SetAttr(el, x.attr("capacityAllocationUnits"), hardware.UnitsByte)
		}
		if _, ok := el.Attr(x.ns, "populatedSize"); ok {
			ed.SetAttr(el, x.attr("populatedSize"), strconv.FormatInt(d.PopulatedSize, 10))
		}
	}
	return nil
}

// hardwareQuantities writes the CPU count, cores per socket and memory
// into the VirtualHardwareSection's items.
func (x *descriptorEditor) hardwareQuantities(doc *ovf.Document, ed *ovf.Editor) error {
	vs := doc.Root().Child(x.ns, "VirtualSystem")
	if vs == nil {
		return fmt.Errorf("no VirtualSystem")
	}
	hw := vs.Child(x.ns, "VirtualHardwareSection")
	if hw == nil {
		return fmt.Errorf("no VirtualHardwareSection")
	}
	for _, it := range ovf.SectionItems(hw) {
		qty := it.Child("VirtualQuantity")
		switch it.ResourceType {
		case hardware.TypeProcessor:
			x.cpuItem(ed, it.Elem, qty)
		case hardware.TypeMemory:
			if err := x.memoryItem(ed, it, qty); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *descriptorEditor) cpuItem(ed *ovf.Editor, it, qty *ovf.Element) {
	if x.e.CPUs > 0 && qty != nil {
		ed.SetText(qty, strconv.Itoa(x.e.CPUs))
	}
	if x.e.CoresPerSocket <= 0 {
		return
	}
	if cps := it.Child(ovf.NamespaceVMW, "CoresPerSocket"); cps != nil {
		ed.SetText(cps, strconv.Itoa(x.e.CoresPerSocket))
		return
	}
	ed.Append(it, &ovf.Node{
		Name:  xml.Name{Space: ovf.NamespaceVMW, Local: "CoresPerSocket"},
		Attrs: []xml.Attr{{Name: x.attr("required"), Value: "false"}},
		Text:  strconv.Itoa(x.e.CoresPerSocket),
	})
}

func (x *descriptorEditor) memoryItem(ed *ovf.Editor, it ovf.Item, qty *ovf.Element) error {
	if x.e.MemoryMiB <= 0 || qty == nil {
		return nil
	}
	units, ok := it.Value("AllocationUnits")
	if !ok {
		units = hardware.UnitsMiB
	}
	one, err := hardware.ScaleBytes(1, units)
	if err != nil || (x.e.MemoryMiB<<20)%one != 0 {
		return fmt.Errorf("memory item: cannot write %d MiB in units %q", x.e.MemoryMiB, units)
	}
	ed.SetText(qty, strconv.FormatInt((x.e.MemoryMiB<<20)/one, 10))
	return nil
}

// systemName writes vm_name as VirtualSystem ovf:id and its Name.
func (x *descriptorEditor) systemName(doc *ovf.Document, ed *ovf.Editor) error {
	if x.e.Name == "" {
		return nil
	}
	vs := doc.Root().Child(x.ns, "VirtualSystem")
	ed.SetAttr(vs, x.attr("id"), x.e.Name)
	if n := vs.Child(x.ns, "Name"); n != nil {
		ed.SetText(n, x.e.Name)
	}
	return nil
}

// firmware writes vmw:Config firmware and efiSecureBootEnabled as vSphere's
// export spells them (a BIOS machine needs no firmware key).
func (x *descriptorEditor) firmware(doc *ovf.Document, ed *ovf.Editor) error {
	if x.e.Firmware == "" {
		return nil
	}
	hw := doc.Root().Child(x.ns, "VirtualSystem").Child(x.ns, "VirtualHardwareSection")
	want := map[string]string{"firmware": x.e.Firmware}
	if x.e.Firmware == "efi" {
		want["bootOptions.efiSecureBootEnabled"] = strconv.FormatBool(x.e.SecureBoot)
	}
	for _, c := range hw.ChildrenNamed(ovf.NamespaceVMW, "Config") {
		k, _ := ovf.VMwKey(c)
		if v, ok := want[k]; ok {
			ed.SetAttr(c, xml.Name{Space: ovf.NamespaceVMW, Local: "value"}, v)
			delete(want, k)
		}
	}
	for _, k := range []string{"firmware", "bootOptions.efiSecureBootEnabled"} {
		if v, ok := want[k]; ok && !(k == "firmware" && v == "bios") {
			ed.Append(hw, &ovf.Node{Name: xml.Name{Space: ovf.NamespaceVMW, Local: "Config"}, Attrs: []xml.Attr{
				{Name: x.attr("required"), Value: "false"},
				{Name: xml.Name{Space: ovf.NamespaceVMW, Local: "key"}, Value: k},
				{Name: xml.Name{Space: ovf.NamespaceVMW, Local: "value"}, Value: v},
			}})
		}
	}
	return nil
}

// findChild returns parent's child local whose attribute key (in ns) is
// value, or nil.
func findChild(parent *ovf.Element, ns, local, key, value string) *ovf.Element {
	if parent == nil {
		return nil
	}
	for _, c := range parent.ChildrenNamed(ns, local) {
		if v, _ := c.Attr(ns, key); v == value {
			return c
		}
	}
	return nil
}
