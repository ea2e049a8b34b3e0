package vsphereova

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// stepPowerOn boots the VM. It has no Cleanup: destroying the VM
// (step_import.go) powers it off first.
type stepPowerOn struct{}

func (s *stepPowerOn) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*vsphere.Machine)
	state.Get("ui").(packersdk.Ui).Say("Powering on ...")
	if err := vm.PowerOn(ctx); err != nil {
		return halt(state, err)
	}
	return multistep.ActionContinue
}

func (s *stepPowerOn) Cleanup(multistep.StateBag) {}
