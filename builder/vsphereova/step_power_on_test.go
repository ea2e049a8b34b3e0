package vsphereova

import (
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func TestPowerOn(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	vm := simvm.Import(t, simvm.Login(t, srv), "boot")
	r := newStepRun(t)
	r.state.Put("vm", &vsphere.Machine{VM: vm})
	r.must(&stepPowerOn{})
	if st, err := vm.PowerState(t.Context()); err != nil || st != types.VirtualMachinePowerStatePoweredOn {
		t.Errorf("power state %s, %v; want on", st, err)
	}
	// Powering on a running VM fails, with the step's words.
	r2 := newStepRun(t)
	r2.state.Put("vm", &vsphere.Machine{VM: vm})
	if r2.run(&stepPowerOn{}) == multistep.ActionContinue {
		t.Fatal("second power on succeeded")
	}
	if err, _ := r2.state.Get("error").(error); err == nil || !strings.HasPrefix(err.Error(), "powering on the VM: ") {
		t.Errorf("err = %v", err)
	}
}
