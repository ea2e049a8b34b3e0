package vsphereova

import (
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/mo"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// The step reconfigures the VM itself: read back from the inventory, with
// values that differ from the OVF's (1 vCPU, 128 MB).
func TestHardwareReconfigures(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	vm := simvm.Import(t, simvm.Login(t, srv), "hw")
	r := newStepRun(t)
	r.state.Put("vm", &vsphere.Machine{VM: vm})
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
	if !strings.Contains(r.out.String(), "Reconfigured the hardware") {
		t.Error("no reconfiguration message")
	}
}

// Nothing to change: no reconfiguration at all.
func TestHardwareNoop(t *testing.T) {
	r := newStepRun(t)
	r.state.Put("vm", &vsphere.Machine{}) // no VM: any API call would panic
	r.must(&stepHardware{config: &HardwareConfig{}})
	if strings.Contains(r.out.String(), "Reconfigured") {
		t.Error("reconfigured with nothing to change")
	}
}
