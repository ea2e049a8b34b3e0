package vsphereova

import (
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func TestGrowDisks(t *testing.T) {
	disks := func() object.VirtualDeviceList {
		return object.VirtualDeviceList{
			&types.VirtualDisk{CapacityInBytes: 64 << 20},
			&types.VirtualDisk{CapacityInKB: 32 << 10}, // older hosts fill only the KB field
		}
	}
	changes, err := growDisks(disks(), []int64{64, 48})
	if err != nil || len(changes) != 1 {
		t.Fatalf("grow disk 1 only: %v, %v", changes, err)
	}
	if d := changes[0].GetVirtualDeviceConfigSpec().Device.(*types.VirtualDisk); d.CapacityInBytes != 48<<20 || d.CapacityInKB != 48<<10 {
		t.Errorf("disk 1 set to %d bytes / %d KB, want 48 MiB", d.CapacityInBytes, d.CapacityInKB)
	}
	if _, err := growDisks(disks(), []int64{32}); err == nil || !strings.Contains(err.Error(), "disks can only grow") {
		t.Errorf("shrink: %v", err)
	}
	if _, err := growDisks(disks(), []int64{0, 0, 10}); err == nil || !strings.Contains(err.Error(), "disk_sizes lists 3 disks, but the imported VM has 2") {
		t.Errorf("too many sizes: %v", err)
	}
}

// The step reconfigures the VM itself: read back from the inventory, with
// values that differ from the OVF's (1 vCPU, 128 MB).
func TestHardwareReconfigures(t *testing.T) {
	srv := startSim(t, vcsim.ModeESXi)
	vm := importTiny(t, simClient(t, srv), "hw")
	r := newStepRun(t)
	r.state.Put("vm", vm)
	r.must(&stepHardware{config: &HardwareConfig{HardwareConfig: common.HardwareConfig{CPUs: 4, CpuCores: 2, RAM: 768}, ConfigParams: map[string]string{"guestinfo.x": "1"}}})
	var o mo.VirtualMachine
	if err := vm.Properties(t.Context(), vm.Reference(), []string{"config.hardware"}, &o); err != nil {
		t.Fatal(err)
	}
	hw := o.Config.Hardware
	if hw.NumCPU != 4 || hw.NumCoresPerSocket == nil || *hw.NumCoresPerSocket != 2 || hw.MemoryMB != 768 {
		t.Errorf("VM hardware: %d vCPUs, %v cores/socket, %d MB; want 4, 2, 768", hw.NumCPU, hw.NumCoresPerSocket, hw.MemoryMB)
	}
	if extraConfig(t, vm)["guestinfo.x"] != "1" {
		t.Error("configuration_parameters did not reach extraConfig")
	}
	if !strings.Contains(r.out.String(), "Reconfiguring hardware") {
		t.Error("no reconfiguration message")
	}
}

// Nothing to change: no reconfiguration at all.
func TestHardwareNoop(t *testing.T) {
	r := newStepRun(t)
	r.state.Put("vm", (*object.VirtualMachine)(nil))
	r.must(&stepHardware{config: &HardwareConfig{}})
	if strings.Contains(r.out.String(), "Reconfiguring") {
		t.Error("reconfigured with nothing to change")
	}
}
