package vsphere

import (
	"fmt"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// GrowDisks returns the edits that give disk i sizes[i] MiB (0: keep).
// Disks only grow: vSphere cannot shrink a disk safely.
func GrowDisks(disks object.VirtualDeviceList, sizes []int64) ([]types.BaseVirtualDeviceConfigSpec, error) {
	if len(sizes) > len(disks) {
		return nil, fmt.Errorf("disk_sizes lists %d disks, but the imported VM has %d", len(sizes), len(disks))
	}
	var out []types.BaseVirtualDeviceConfigSpec
	for i, mib := range sizes {
		if mib == 0 {
			continue
		}
		d := disks[i].(*types.VirtualDisk)
		want := mib * 1024 * 1024
		have := d.CapacityInBytes
		if have == 0 {
			have = d.CapacityInKB * 1024
		}
		if want < have {
			return nil, fmt.Errorf("disk %d: disk size %d MiB is smaller than the disk (%d MiB); disks can only grow", i, mib, have/(1024*1024))
		}
		if want == have {
			continue
		}
		d.CapacityInBytes = want
		d.CapacityInKB = want / 1024
		out = append(out, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: d})
	}
	return out, nil
}
