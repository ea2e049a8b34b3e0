package vsphereovaqemu

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

const (
	nsRASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
	nsVMW  = "http://www.vmware.com/schema/ovf"
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
	ns := doc.Root().Name.Space
	attr := func(local string) xml.Name { return xml.Name{Space: ns, Local: local} }
	rounds := []func(*ovf.Document, *ovf.Editor) error{
		// References/File: new name and size.
		func(doc *ovf.Document, ed *ovf.Editor) error {
			refs := doc.Root().Child(ns, "References")
			for _, d := range e.Disks {
				f := findChild(refs, ns, "File", "href", d.OldHref)
				if f == nil {
					return fmt.Errorf("References has no File with href %q", d.OldHref)
				}
				ed.SetAttr(f, attr("href"), d.NewHref)
			}
			return nil
		},
		func(doc *ovf.Document, ed *ovf.Editor) error {
			refs := doc.Root().Child(ns, "References")
			for _, d := range e.Disks {
				ed.SetAttr(findChild(refs, ns, "File", "href", d.NewHref), attr("size"), strconv.FormatInt(d.FileSize, 10))
			}
			return nil
		},
		// DiskSection/Disk: capacity (in the source's units when they
		// divide it), populatedSize.
		func(doc *ovf.Document, ed *ovf.Editor) error {
			ds := doc.Root().Child(ns, "DiskSection")
			for _, d := range e.Disks {
				el := findChild(ds, ns, "Disk", "diskId", d.DiskID)
				if el == nil {
					return fmt.Errorf("DiskSection has no Disk %q", d.DiskID)
				}
				units, _ := el.Attr(ns, "capacityAllocationUnits")
				shift := 0
				if units != "" {
					if one, err := scaleBytes(1, units); err == nil {
						for one > 1 {
							one >>= 1
							shift++
						}
					}
				}
				if d.Capacity%(int64(1)<<shift) == 0 {
					ed.SetAttr(el, attr("capacity"), strconv.FormatInt(d.Capacity>>shift, 10))
				} else {
					ed.SetAttr(el, attr("capacity"), strconv.FormatInt(d.Capacity, 10))
					ed.SetAttr(el, attr("capacityAllocationUnits"), "byte")
				}
				if _, ok := el.Attr(ns, "populatedSize"); ok {
					ed.SetAttr(el, attr("populatedSize"), strconv.FormatInt(d.PopulatedSize, 10))
				}
			}
			return nil
		},
		// VirtualHardwareSection: CPU count, cores per socket, memory.
		func(doc *ovf.Document, ed *ovf.Editor) error {
			vs := doc.Root().Child(ns, "VirtualSystem")
			if vs == nil {
				return fmt.Errorf("no VirtualSystem")
			}
			hw := vs.Child(ns, "VirtualHardwareSection")
			if hw == nil {
				return fmt.Errorf("no VirtualHardwareSection")
			}
			for _, it := range hw.ChildrenNamed(ns, "Item") {
				rt := it.Child(nsRASD, "ResourceType")
				if rt == nil {
					continue
				}
				qty := it.Child(nsRASD, "VirtualQuantity")
				switch strings.TrimSpace(rt.Text()) {
				case "3":
					if e.CPUs > 0 && qty != nil {
						ed.SetText(qty, strconv.Itoa(e.CPUs))
					}
					if e.CoresPerSocket > 0 {
						if cps := it.Child(nsVMW, "CoresPerSocket"); cps != nil {
							ed.SetText(cps, strconv.Itoa(e.CoresPerSocket))
						} else {
							ed.Append(it, &ovf.Node{
								Name:  xml.Name{Space: nsVMW, Local: "CoresPerSocket"},
								Attrs: []xml.Attr{{Name: attr("required"), Value: "false"}},
								Text:  strconv.Itoa(e.CoresPerSocket),
							})
						}
					}
				case "4":
					if e.MemoryMiB > 0 && qty != nil {
						units := "byte * 2^20"
						if u := it.Child(nsRASD, "AllocationUnits"); u != nil {
							units = strings.TrimSpace(u.Text())
						}
						one, err := scaleBytes(1, units)
						if err != nil || (e.MemoryMiB<<20)%one != 0 {
							return fmt.Errorf("memory item: cannot write %d MiB in units %q", e.MemoryMiB, units)
						}
						ed.SetText(qty, strconv.FormatInt((e.MemoryMiB<<20)/one, 10))
					}
				}
			}
			return nil
		},
	}
	rounds = append(rounds, func(doc *ovf.Document, ed *ovf.Editor) error {
		vs := doc.Root().Child(ns, "VirtualSystem")
		if e.Name == "" {
			return nil
		}
		ed.SetAttr(vs, attr("id"), e.Name)
		if n := vs.Child(ns, "Name"); n != nil {
			ed.SetText(n, e.Name)
		}
		return nil
	}, func(doc *ovf.Document, ed *ovf.Editor) error {
		if e.Firmware == "" {
			return nil
		}
		hw := doc.Root().Child(ns, "VirtualSystem").Child(ns, "VirtualHardwareSection")
		want := map[string]string{"firmware": e.Firmware}
		if e.Firmware == "efi" {
			want["bootOptions.efiSecureBootEnabled"] = strconv.FormatBool(e.SecureBoot)
		}
		for _, c := range hw.ChildrenNamed(nsVMW, "Config") {
			k, _ := c.Attr(nsVMW, "key")
			if v, ok := want[k]; ok {
				ed.SetAttr(c, xml.Name{Space: nsVMW, Local: "value"}, v)
				delete(want, k)
			}
		}
		for _, k := range []string{"firmware", "bootOptions.efiSecureBootEnabled"} {
			if v, ok := want[k]; ok && !(k == "firmware" && v == "bios") {
				ed.Append(hw, &ovf.Node{Name: xml.Name{Space: nsVMW, Local: "Config"}, Attrs: []xml.Attr{
					{Name: attr("required"), Value: "false"},
					{Name: xml.Name{Space: nsVMW, Local: "key"}, Value: k},
					{Name: xml.Name{Space: nsVMW, Local: "value"}, Value: v},
				}})
			}
		}
		return nil
	})
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
