package vsphereovaqemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// ovfMachine is the machine an OVF describes, as the QEMU driver needs it.
type ovfMachine struct {
	CPUs, CoresPerSocket int
	MemoryMiB            int64
	Firmware             string // bios or efi
	SecureBoot           bool
	// HardwareVersion is the highest vmx-N of VirtualSystemType, for the
	// VMDKs' ddb.virtualHWVersion (0: none).
	HardwareVersion int
	// Controllers holds only the controllers that have disks, in OVF order.
	Controllers []string
	Disks       []ovfDisk // in DiskSection order
	NICs        []qemu.NIC
	// Files are every References/File href, in order.
	Files []string
}

// ovfDisk is one DiskSection disk, where it is attached and its file.
type ovfDisk struct {
	DiskID        string
	Href          string // References/File href of its VMDK
	CapacityBytes int64
	// PopulatedBytes is Disk/@ovf:populatedSize, the data the disk holds
	// (0: not declared).
	PopulatedBytes int64
	Controller     int // index into ovfMachine.Controllers
	Unit           int
}

// readMachine reads the first VirtualSystem's hardware through the same
// document model the export edits (package ovf's items, the hardware
// catalog's names). Items of another deployment configuration than the
// default are not told apart: vSphere exports have none.
func readMachine(doc *ovf.Document) (*ovfMachine, error) {
	root := doc.Root()
	vs := root.Child(root.Name.Space, "VirtualSystem")
	var hws []*ovf.Element
	if vs != nil {
		hws = ovf.HardwareSections(vs)
	}
	if len(hws) == 0 {
		return nil, fmt.Errorf("the OVF has no VirtualSystem with a VirtualHardwareSection (a VirtualSystemCollection is not supported)")
	}
	hw := hws[0]
	m := &ovfMachine{Firmware: "bios", CPUs: 1, MemoryMiB: 1024}
	if sys := hw.Child(root.Name.Space, "System"); sys != nil {
		for _, c := range sys.Children() {
			if c.Name.Local == "VirtualSystemType" {
				m.HardwareVersion = hardware.HighestVersion(c.Text())
			}
		}
	}
	if err := m.readFirmware(hw); err != nil {
		return nil, err
	}
	items := ovf.SectionItems(hw)
	diskItems, err := m.readItems(items)
	if err != nil {
		return nil, err
	}
	if err := m.readDisks(root, items, diskItems); err != nil {
		return nil, err
	}
	return m, nil
}

// readFirmware reads firmware and Secure Boot from vmw:Config (vSphere's
// export) or vmw:ExtraConfig (a .vmx's keys).
func (m *ovfMachine) readFirmware(hw *ovf.Element) error {
	configs := append(hw.ChildrenNamed(ovf.NamespaceVMW, "Config"), hw.ChildrenNamed(ovf.NamespaceVMW, "ExtraConfig")...)
	for _, c := range configs {
		switch k, v := ovf.VMwKey(c); k {
		case "firmware":
			m.Firmware = strings.ToLower(v)
		case "bootOptions.efiSecureBootEnabled", "uefi.secureBoot.enabled": // vSphere's export, a .vmx
			m.SecureBoot = strings.EqualFold(v, "true")
		}
	}
	if m.Firmware != "bios" && m.Firmware != "efi" {
		return fmt.Errorf("the OVF asks for firmware %q: expected bios or efi", m.Firmware)
	}
	return nil
}

// readItems reads CPUs, memory and NICs and returns the disk drive items
// for readDisks.
func (m *ovfMachine) readItems(items []ovf.Item) ([]ovf.Item, error) {
	var diskItems []ovf.Item
	for _, it := range items {
		qty, hasQty := it.Value("VirtualQuantity")
		switch it.ResourceType {
		case hardware.TypeProcessor:
			if n, err := strconv.Atoi(qty); hasQty && err == nil {
				m.CPUs = n
			}
			if c := it.Elem.Child(ovf.NamespaceVMW, "CoresPerSocket"); c != nil {
				if n, err := strconv.Atoi(strings.TrimSpace(c.Text())); err == nil {
					m.CoresPerSocket = n
				}
			}
		case hardware.TypeMemory:
			if !hasQty {
				continue
			}
			if err := m.readMemory(it, qty); err != nil {
				return nil, err
			}
		case hardware.TypeDiskDrive:
			diskItems = append(diskItems, it)
		case hardware.TypeEthernet:
			nic, err := readNIC(it)
			if err != nil {
				return nil, err
			}
			m.NICs = append(m.NICs, nic)
		}
	}
	return diskItems, nil
}

// readMemory reads the memory item's quantity in its allocation units.
func (m *ovfMachine) readMemory(it ovf.Item, qty string) error {
	n, err := strconv.ParseInt(qty, 10, 64)
	if err != nil {
		return fmt.Errorf("memory item %q: VirtualQuantity %q is not a number", it.InstanceID, qty)
	}
	units, ok := it.Value("AllocationUnits")
	if !ok {
		units = hardware.UnitsMiB
	}
	b, err := hardware.ScaleBytes(n, units)
	if err != nil {
		return fmt.Errorf("memory item %q: %w", it.InstanceID, err)
	}
	m.MemoryMiB = b >> 20
	return nil
}

func readNIC(it ovf.Item) (qemu.NIC, error) {
	model := it.SubType
	if _, ok := it.Value("ResourceSubType"); !ok {
		model = hardware.VMXNET3
	}
	nm, err := qemu.ParseNIC(model)
	if err != nil {
		return qemu.NIC{}, fmt.Errorf("network adapter %q: %w", it.Name, err)
	}
	nic := qemu.NIC{Model: nm}
	if macRE.MatchString(it.Address) {
		nic.MAC = strings.ToLower(it.Address)
	}
	return nic, nil
}

var macRE = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)
