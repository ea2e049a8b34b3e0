package vsphereova

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// stepTemplate marks the powered-off VM as a template (convert_to_template).
type stepTemplate struct{}

func (s *stepTemplate) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*vsphere.Machine)
	state.Get("ui").(packersdk.Ui).Say("Converting the VM to a template ...")
	if err := vm.MarkAsTemplate(ctx); err != nil {
		return halt(state, err)
	}
	return multistep.ActionContinue
}

func (s *stepTemplate) Cleanup(multistep.StateBag) {}
