package vsphereovaqemu

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// readDisks reads DiskSection in order: each disk's file, capacity, and
// the controller and unit its item attaches it to. Only controllers with
// disks are kept.
func (m *ovfMachine) readDisks(root *ovf.Element, items, diskItems []ovf.Item) error {
	ns := root.Name.Space
	files := map[string]string{}
	if refs := root.Child(ns, "References"); refs != nil {
		for _, f := range refs.ChildrenNamed(ns, "File") {
			id, _ := ovf.OVFAttr(f, "id")
			href, _ := ovf.OVFAttr(f, "href")
			files[id] = href
			m.Files = append(m.Files, href)
		}
	}
	ds := root.Child(ns, "DiskSection")
	if ds == nil {
		return fmt.Errorf("the OVF has no DiskSection: nothing to boot")
	}
	byID := map[string]ovf.Item{}
	for _, it := range items {
		byID[it.InstanceID] = it
	}
	ctlIndex := map[string]int{} // controller InstanceID -> index
	for _, d := range ds.ChildrenNamed(ns, "Disk") {
		disk, err := readDisk(d, files)
		if err != nil {
			return err
		}
		if err := m.attach(&disk, diskItems, byID, ctlIndex); err != nil {
			return err
		}
		m.Disks = append(m.Disks, disk)
	}
	if len(m.Disks) == 0 {
		return fmt.Errorf("the OVF has no disks: nothing to boot")
	}
	return nil
}

// attach finds the disk's item, its controller and unit.
func (m *ovfMachine) attach(disk *ovfDisk, diskItems []ovf.Item, byID map[string]ovf.Item, ctlIndex map[string]int) error {
	it, ok := diskItem(diskItems, disk.DiskID)
	if !ok {
		return fmt.Errorf("disk %q is not attached by any Item of the VirtualHardwareSection", disk.DiskID)
	}
	if _, ok := it.Value("Parent"); !ok {
		return fmt.Errorf("disk %q (item %q) has no Parent controller", disk.DiskID, it.InstanceID)
	}
	ctl, ok := byID[it.Parent]
	if !ok {
		return fmt.Errorf("disk %q: controller %q does not exist", disk.DiskID, it.Parent)
	}
	idx, seen := ctlIndex[ctl.InstanceID]
	if !seen {
		t, err := controllerType(ctl)
		if err != nil {
			return fmt.Errorf("disk %q: %w", disk.DiskID, err)
		}
		idx = len(m.Controllers)
		ctlIndex[ctl.InstanceID] = idx
		m.Controllers = append(m.Controllers, t)
	}
	disk.Controller = idx
	if a, ok := it.Value("AddressOnParent"); ok {
		var err error
		if disk.Unit, err = strconv.Atoi(a); err != nil {
			return fmt.Errorf("disk %q: AddressOnParent %q is not a number", disk.DiskID, a)
		}
	}
	if m.Controllers[idx] == qemu.IDE && ctl.Address != "" {
		// OVF IDE addresses are the unit on the channel; the channel
		// is the controller's own Address.
		ch, _ := strconv.Atoi(ctl.Address)
		disk.Unit += 2 * ch
	}
	return nil
}

// readDisk reads one DiskSection disk's file and capacity.
func readDisk(d *ovf.Element, files map[string]string) (ovfDisk, error) {
	id, _ := ovf.OVFAttr(d, "diskId")
	disk := ovfDisk{DiskID: id}
	ref, _ := ovf.OVFAttr(d, "fileRef")
	if ref == "" || files[ref] == "" {
		return disk, fmt.Errorf("disk %q has no file in References (an empty disk is not supported yet)", id)
	}
	disk.Href = files[ref]
	units, ok := ovf.OVFAttr(d, "capacityAllocationUnits")
	if !ok {
		units = hardware.UnitsByte
	}
	capacity, _ := ovf.OVFAttr(d, "capacity")
	n, err := strconv.ParseInt(capacity, 10, 64)
	if err != nil {
		return disk, fmt.Errorf("disk %q: capacity %q is not a number", id, capacity)
	}
	if disk.CapacityBytes, err = hardware.ScaleBytes(n, units); err != nil {
		return disk, fmt.Errorf("disk %q: %w", id, err)
	}
	// In bytes (DSP0243), optional: vSphere's exports have it.
	if v, ok := ovf.OVFAttr(d, "populatedSize"); ok {
		disk.PopulatedBytes, _ = strconv.ParseInt(v, 10, 64)
	}
	return disk, nil
}

// diskItem finds the Item whose HostResource is ovf:/disk/<id>.
func diskItem(items []ovf.Item, id string) (ovf.Item, bool) {
	for _, it := range items {
		for _, h := range it.HostResource {
			if strings.TrimPrefix(strings.TrimPrefix(h, "ovf:"), "/disk/") == id {
				return it, true
			}
		}
	}
	return ovf.Item{}, false
}

// controllerType maps a controller Item to a driver controller type
// through the catalog: IDE (5) whatever its subtype, SCSI (6) and other
// storage (20) by their ResourceSubType.
func controllerType(it ovf.Item) (string, error) {
	c, err := hardware.ControllerForItem(it.ResourceType, it.SubType)
	if err == nil {
		_, err = qemu.ParseController(c.Name)
	} else if _, perr := qemu.ParseController(it.SubType); perr != nil {
		err = perr // names the controllers the driver takes
	}
	if err != nil {
		return "", fmt.Errorf("controller %q (%s): %w", it.Name, it.InstanceID, err)
	}
	return c.Name, nil
}
