package vsphereovaqemu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// ovfMachine is the machine an OVF describes, as the QEMU driver needs it.
type ovfMachine struct {
	CPUs, CoresPerSocket int
	MemoryMiB            int64
	Firmware             string // bios or efi
	SecureBoot           bool
	// Controllers holds only the controllers that have disks, in OVF order.
	Controllers []string
	Disks       []ovfDisk // in DiskSection order
	NICs        []qemu.NIC
}

// ovfDisk is one DiskSection disk, where it is attached and its file.
type ovfDisk struct {
	DiskID        string
	Href          string // References/File href of its VMDK
	CapacityBytes int64
	Controller    int // index into ovfMachine.Controllers
	Unit          int
}

// readMachine reads the first VirtualSystem's hardware. Items of another
// deployment configuration than the default are not told apart: vSphere
// exports have none.
func readMachine(env *govmomiovf.Envelope) (*ovfMachine, error) {
	vs := env.VirtualSystem
	if vs == nil || len(vs.VirtualHardware) == 0 {
		return nil, fmt.Errorf("the OVF has no VirtualSystem with a VirtualHardwareSection (a VirtualSystemCollection is not supported)")
	}
	hw := vs.VirtualHardware[0]
	m := &ovfMachine{Firmware: "bios", CPUs: 1, MemoryMiB: 1024}
	if err := m.readFirmware(hw); err != nil {
		return nil, err
	}
	diskItems, err := m.readItems(hw)
	if err != nil {
		return nil, err
	}
	if err := m.readDisks(env, hw, diskItems); err != nil {
		return nil, err
	}
	return m, nil
}

// readFirmware reads firmware and Secure Boot from vmw:Config (vSphere's
// export) or vmw:ExtraConfig (a .vmx's keys).
func (m *ovfMachine) readFirmware(hw govmomiovf.VirtualHardwareSection) error {
	for _, c := range append(append([]govmomiovf.Config(nil), hw.Config...), hw.ExtraConfig...) {
		switch c.Key {
		case "firmware":
			m.Firmware = strings.ToLower(c.Value)
		case "bootOptions.efiSecureBootEnabled", "uefi.secureBoot.enabled": // vSphere's export, a .vmx
			m.SecureBoot = strings.EqualFold(c.Value, "true")
		}
	}
	if m.Firmware != "bios" && m.Firmware != "efi" {
		return fmt.Errorf("the OVF asks for firmware %q: expected bios or efi", m.Firmware)
	}
	return nil
}

// readItems reads CPUs, memory and NICs and returns the disk drive items
// for readDisks.
func (m *ovfMachine) readItems(hw govmomiovf.VirtualHardwareSection) ([]govmomiovf.ResourceAllocationSettingData, error) {
	var diskItems []govmomiovf.ResourceAllocationSettingData
	for _, it := range hw.Item {
		if it.ResourceType == nil {
			continue
		}
		switch *it.ResourceType {
		case govmomiovf.Processor:
			if it.VirtualQuantity != nil {
				m.CPUs = int(*it.VirtualQuantity)
			}
			if it.CoresPerSocket != nil {
				m.CoresPerSocket = int(it.CoresPerSocket.Value)
			}
		case govmomiovf.Memory:
			if it.VirtualQuantity != nil {
				units := hardware.UnitsMiB
				if it.AllocationUnits != nil {
					units = *it.AllocationUnits
				}
				b, err := hardware.ScaleBytes(int64(*it.VirtualQuantity), units)
				if err != nil {
					return nil, fmt.Errorf("memory item %q: %w", it.InstanceID, err)
				}
				m.MemoryMiB = b >> 20
			}
		case govmomiovf.DiskDrive:
			diskItems = append(diskItems, it)
		case govmomiovf.EthernetAdapter:
			nic, err := readNIC(it)
			if err != nil {
				return nil, err
			}
			m.NICs = append(m.NICs, nic)
		}
	}
	return diskItems, nil
}

func readNIC(it govmomiovf.ResourceAllocationSettingData) (qemu.NIC, error) {
	model := "vmxnet3"
	if it.ResourceSubType != nil {
		model = *it.ResourceSubType
	}
	nm, err := qemu.ParseNIC(model)
	if err != nil {
		return qemu.NIC{}, fmt.Errorf("network adapter %q: %w", it.ElementName, err)
	}
	nic := qemu.NIC{Model: nm}
	if it.Address != nil && macRE.MatchString(*it.Address) {
		nic.MAC = strings.ToLower(*it.Address)
	}
	return nic, nil
}

// readDisks reads DiskSection in order: each disk's file, capacity, and
// the controller and unit its item attaches it to. Only controllers with
// disks are kept.
func (m *ovfMachine) readDisks(env *govmomiovf.Envelope, hw govmomiovf.VirtualHardwareSection, diskItems []govmomiovf.ResourceAllocationSettingData) error {
	if env.Disk == nil {
		return fmt.Errorf("the OVF has no DiskSection: nothing to boot")
	}
	byID := map[string]govmomiovf.ResourceAllocationSettingData{}
	for _, it := range hw.Item {
		byID[it.InstanceID] = it
	}
	files := map[string]string{}
	for _, f := range env.References {
		files[f.ID] = f.Href
	}
	ctlIndex := map[string]int{} // controller InstanceID -> index
	for _, d := range env.Disk.Disks {
		disk, err := readDisk(d, files)
		if err != nil {
			return err
		}
		it, ok := diskItem(diskItems, d.DiskID)
		if !ok {
			return fmt.Errorf("disk %q is not attached by any Item of the VirtualHardwareSection", d.DiskID)
		}
		if it.Parent == nil {
			return fmt.Errorf("disk %q (item %q) has no Parent controller", d.DiskID, it.InstanceID)
		}
		ctl, ok := byID[*it.Parent]
		if !ok {
			return fmt.Errorf("disk %q: controller %q does not exist", d.DiskID, *it.Parent)
		}
		idx, seen := ctlIndex[ctl.InstanceID]
		if !seen {
			t, err := controllerType(ctl)
			if err != nil {
				return fmt.Errorf("disk %q: %w", d.DiskID, err)
			}
			idx = len(m.Controllers)
			ctlIndex[ctl.InstanceID] = idx
			m.Controllers = append(m.Controllers, t)
		}
		disk.Controller = idx
		if it.AddressOnParent != nil {
			if disk.Unit, err = strconv.Atoi(*it.AddressOnParent); err != nil {
				return fmt.Errorf("disk %q: AddressOnParent %q is not a number", d.DiskID, *it.AddressOnParent)
			}
		}
		if m.Controllers[idx] == qemu.IDE && ctl.Address != nil {
			// OVF IDE addresses are the unit on the channel; the channel
			// is the controller's own Address.
			ch, _ := strconv.Atoi(*ctl.Address)
			disk.Unit += 2 * ch
		}
		m.Disks = append(m.Disks, disk)
	}
	if len(m.Disks) == 0 {
		return fmt.Errorf("the OVF has no disks: nothing to boot")
	}
	return nil
}

// readDisk reads one DiskSection disk's file and capacity.
func readDisk(d govmomiovf.VirtualDiskDesc, files map[string]string) (ovfDisk, error) {
	disk := ovfDisk{DiskID: d.DiskID}
	if d.FileRef == nil || files[*d.FileRef] == "" {
		return disk, fmt.Errorf("disk %q has no file in References (an empty disk is not supported yet)", d.DiskID)
	}
	disk.Href = files[*d.FileRef]
	units := hardware.UnitsByte
	if d.CapacityAllocationUnits != nil {
		units = *d.CapacityAllocationUnits
	}
	n, err := strconv.ParseInt(d.Capacity, 10, 64)
	if err != nil {
		return disk, fmt.Errorf("disk %q: capacity %q is not a number", d.DiskID, d.Capacity)
	}
	if disk.CapacityBytes, err = hardware.ScaleBytes(n, units); err != nil {
		return disk, fmt.Errorf("disk %q: %w", d.DiskID, err)
	}
	return disk, nil
}

var macRE = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)

// diskItem finds the Item whose HostResource is ovf:/disk/<id>.
func diskItem(items []govmomiovf.ResourceAllocationSettingData, id string) (govmomiovf.ResourceAllocationSettingData, bool) {
	for _, it := range items {
		for _, h := range it.HostResource {
			if strings.TrimPrefix(strings.TrimPrefix(h, "ovf:"), "/disk/") == id {
				return it, true
			}
		}
	}
	return govmomiovf.ResourceAllocationSettingData{}, false
}

// controllerType maps a controller Item to a driver controller type
// through the catalog: IDE (5) whatever its subtype, SCSI (6) and other
// storage (20) by their ResourceSubType.
func controllerType(it govmomiovf.ResourceAllocationSettingData) (string, error) {
	sub := ""
	if it.ResourceSubType != nil {
		sub = *it.ResourceSubType
	}
	c, err := hardware.ControllerForItem(int(*it.ResourceType), sub)
	if err == nil {
		_, err = qemu.ParseController(c.Name)
	}
	if err != nil {
		return "", fmt.Errorf("controller %q (%s): %w", it.ElementName, it.InstanceID, err)
	}
	return c.Name, nil
}
