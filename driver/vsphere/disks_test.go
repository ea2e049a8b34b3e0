package vsphere

import (
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

func TestGrowDisks(t *testing.T) {
	disks := func() object.VirtualDeviceList {
		return object.VirtualDeviceList{
			&types.VirtualDisk{CapacityInBytes: 64 << 20},
			&types.VirtualDisk{CapacityInKB: 32 << 10}, // older hosts fill only the KB field
		}
	}
	changes, err := GrowDisks(disks(), []int64{64, 48})
	if err != nil || len(changes) != 1 {
		t.Fatalf("grow disk 1 only: %v, %v", changes, err)
	}
	if d := changes[0].GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); d.CapacityInBytes != 48<<20 || d.CapacityInKB != 48<<10 {
		t.Errorf("disk 1 set to %d bytes / %d KB, want 48 MiB", d.CapacityInBytes, d.CapacityInKB)
	}
	if _, err := GrowDisks(disks(), []int64{32}); err == nil || !strings.Contains(err.Error(), "disks can only grow") {
		t.Errorf("shrink: %v", err)
	}
	if _, err := GrowDisks(disks(), []int64{0, 0, 10}); err == nil || !strings.Contains(err.Error(), "disk_sizes lists 3 disks, but the imported VM has 2") {
		t.Errorf("too many sizes: %v", err)
	}
}
