package ovftest

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// VirtualBoxRelease picks which of VirtualBox's OVF readers to imitate.
type VirtualBoxRelease int

const (
	// VirtualBoxCurrent is ovfreader.cpp as of VirtualBox 7.1 (r106320):
	// storage subtypes AHCI, vmware.sata.ahci, VirtioSCSI, virtio-scsi,
	// NVMe, vmware.nvme.controller.
	VirtualBoxCurrent VirtualBoxRelease = iota
	// VirtualBoxLegacy is the older reader that took "AHCI" only for
	// ResourceType 20 ("supported with SATA AHCI controllers only").
	VirtualBoxLegacy
)

// CheckVirtualBox applies the rules VirtualBox's appliance import enforces
// when it reads an OVF (src/VBox/Main/xml/ovfreader.cpp, OVFReader::parse,
// HandleDiskSection, HandleVirtualSystemContent,
// VirtualHardwareItem::fillItem and _checkConsistencyAndCompliance), plus
// the package rule that no .nvram file travels with it. files are the
// package members beside the descriptor (nil: do not check presence). It
// returns every violation, each with its line.
//
// It reads the XML with encoding/xml and matches names the way VirtualBox
// does (local names, attributes by local name), independently of the ovf
// package whose output it judges. It and checkHardware are long because
// they follow ovfreader.cpp's sections and two item loops in order, so they
// can be read against it line by line.
func CheckVirtualBox(descriptor []byte, files []string, release VirtualBoxRelease) error {
	root, err := parseTree(descriptor)
	if err != nil {
		return err
	}
	var errs []error
	bad := func(n *node, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: "+format, append([]any{n.line}, args...)...))
	}
	if root.name.Local != "Envelope" {
		return fmt.Errorf("root element in OVF file must be 'Envelope', got %q", root.name.Local)
	}
	if root.name.Space == "" {
		bad(root, "Envelope has no namespace URI")
	}
	present := map[string]bool{}
	for _, f := range files {
		present[f] = true
	}
	// References/File by id.
	fileByID := map[string]*node{}
	if refs := root.child("References"); refs != nil {
		for _, f := range refs.children("File") {
			fileByID[f.attr("id")] = f
			href := f.attr("href")
			if strings.HasSuffix(strings.ToLower(href), ".nvram") {
				bad(f, "References/File %q is an NVRAM file, which VirtualBox cannot take", href)
			}
			if files != nil && !present[href] {
				bad(f, "References/File %q is not in the package", href)
			}
		}
	}
	// HandleDiskSection.
	disks := map[string]bool{}
	for _, ds := range root.children("DiskSection") {
		for _, d := range ds.children("Disk") {
			id := d.attr("diskId")
			switch {
			case id == "":
				bad(d, "missing or invalid attribute 'diskId' in 'DiskSection' element")
			case d.attr("format") == "":
				bad(d, "missing or invalid attribute 'format' in 'DiskSection' element")
			case !isInt(d.attr("capacity")):
				bad(d, "missing or invalid attribute 'capacity' in 'DiskSection' element")
			}
			if ref := d.attr("fileRef"); ref != "" {
				f, ok := fileByID[ref]
				if !ok {
					bad(d, "cannot find References/File element for ID %q referenced by 'Disk' element", ref)
				} else if f.attr("href") == "" {
					bad(f, "missing or invalid attribute 'href' in 'File' element")
				}
			}
			disks[id] = true
		}
	}
	var systems []*node
	root.walk(func(n *node) {
		if n.name.Local == "VirtualSystem" {
			systems = append(systems, n)
		}
	})
	for _, vs := range systems {
		for _, sec := range vs.kids {
			switch sec.name.Local {
			case "OperatingSystemSection":
				if _, err := strconv.ParseUint(sec.attr("id"), 10, 64); err != nil {
					bad(sec, "missing or invalid 'ovf:id' attribute in operating system section element (%q)", sec.attr("id"))
				}
			case "VirtualHardwareSection":
				checkHardware(sec, disks, release, bad)
			}
		}
	}
	return errors.Join(errs...)
}

// checkHardware checks the VirtualHardwareSection as VirtualBox's importer
// reads it. It is long because it mirrors that importer: one pass collecting
// the items, then one short block per rule, in the importer's order.
func checkHardware(hw *node, disks map[string]bool, release VirtualBoxRelease, bad func(*node, string, ...any)) {
	controllers := map[string]bool{}
	type hwItem struct {
		n                                     *node
		typ                                   int
		required                              bool
		instance, sub, units, parent, hostRes string
	}
	var list []hwItem
	for _, n := range hw.kids {
		switch n.name.Local {
		case "Item", "StorageItem", "EthernetPortItem":
		default:
			continue
		}
		it := hwItem{n: n, typ: -1}
		for _, c := range n.kids {
			v := c.text
			switch c.name.Local {
			case "ResourceType":
				t, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
				if err == nil {
					it.typ = int(min(t, 0xffff))
				}
				// fillItem: required unless the item says ovf:required="false".
				it.required = n.attr("required") != "false"
			case "InstanceID", "InstanceId":
				it.instance = v
			case "ResourceSubType":
				it.sub = v
			case "AllocationUnits":
				it.units = v
			case "Parent":
				it.parent = v
			case "HostResource":
				it.hostRes = v
			}
		}
		if it.typ <= 0 {
			bad(n, "Empty element ResourceType under %s element", n.name.Local)
			continue
		}
		if it.instance == "" && (it.typ == 5 || it.typ == 6 || it.typ == 20) {
			bad(n, "Element InstanceID is absent under %s element", n.name.Local)
		}
		list = append(list, it)
	}
	for _, it := range list {
		switch it.typ {
		case 3, 10, 14, 15, 17, 23, 35:
		case 4:
			switch it.units {
			case "MegaBytes", "MB", "byte * 2^20", "GigaBytes", "GB", "byte * 2^30":
			default:
				bad(it.n, "Invalid allocation unit %q specified with memory size item", it.units)
			}
		case 5, 6:
			controllers[it.instance] = true
		case 20:
			ok := strings.EqualFold(it.sub, "AHCI")
			if release == VirtualBoxCurrent {
				for _, s := range []string{"vmware.sata.ahci", "VirtioSCSI", "virtio-scsi", "NVMe", "vmware.nvme.controller"} {
					ok = ok || strings.EqualFold(it.sub, s)
				}
			}
			if !ok {
				bad(it.n, "Host resource of type \"Other Storage Device (20)\" is supported with SATA AHCI controllers only (subtype %q)", it.sub)
			} else {
				controllers[it.instance] = true
			}
		default:
			if it.required {
				bad(it.n, "Unknown resource type %d in hardware item", it.typ)
			}
		}
	}
	// Second loop: disks and CD drives hang off a known controller.
	for _, it := range list {
		if it.typ != 15 && it.typ != 17 {
			continue
		}
		if !controllers[it.parent] {
			bad(it.n, "Disk item with instance ID %q specifies invalid parent %q", it.instance, it.parent)
			continue
		}
		if it.typ == 17 {
			id := ""
			for _, p := range []string{"ovf://disk/", "ovf:/disk/", "/disk/"} {
				if strings.HasPrefix(it.hostRes, p) {
					id = it.hostRes[len(p):]
					break
				}
			}
			if id == "" || !disks[id] {
				bad(it.n, "Disk item with instance ID %q specifies invalid host resource %q", it.instance, it.hostRes)
			}
		}
	}
}

func isInt(s string) bool { _, err := strconv.ParseInt(s, 10, 64); return err == nil }

// node is a minimal element tree: local names and attributes by local name,
// as VirtualBox's IPRT XML classes look them up.
type node struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*node
	text  string
	line  int
}

func (n *node) attr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space != "xmlns" {
			return a.Value
		}
	}
	return ""
}

func (n *node) child(local string) *node {
	for _, c := range n.kids {
		if c.name.Local == local {
			return c
		}
	}
	return nil
}

func (n *node) children(local string) []*node {
	var out []*node
	for _, c := range n.kids {
		if c.name.Local == local {
			out = append(out, c)
		}
	}
	return out
}

func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, c := range n.kids {
		c.walk(fn)
	}
}

func parseTree(data []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			n := &node{name: t.Name, attrs: t.Attr, line: line}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	return root, nil
}
