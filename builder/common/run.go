// Package common holds what the plugin's two builders (`vsphere-ova` on
// vSphere, `vsphere-ova-qemu` under QEMU) share, as the vSphere plugin's
// builders share builder/vsphere/common: running the steps and reading how
// they ended (run.go), the configuration sections both take, squashed into
// each builder's Config (config_<section>.go), and the steps both run, one
// per file (step_<verb>.go). What differs between the builders is a field of
// a step or an implementation of Machine, not a copy of the step.
package common

import (
	"context"
	"errors"

	packercommon "github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Run runs steps with Packer's runner on a new state holding what the
// builders' steps read: config, hook, ui, and generated_data with vm_name.
// It returns that state after a build that went through, or the error that
// stopped it: a step's (Halt), a cancel, or a halt.
func Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook, pc packercommon.PackerConfig, config any, vmName string, steps []multistep.Step) (multistep.StateBag, error) {
	state := new(multistep.BasicStateBag)
	state.Put("config", config)
	state.Put("hook", hook)
	state.Put("ui", ui)
	state.Put("generated_data", map[string]interface{}{"vm_name": vmName})

	runner := commonsteps.NewRunner(steps, pc, ui)
	runner.Run(ctx, state)

	if rawErr, ok := state.GetOk("error"); ok {
		return nil, rawErr.(error)
	}
	if _, ok := state.GetOk(multistep.StateCancelled); ok {
		return nil, errors.New("build was cancelled")
	}
	if _, ok := state.GetOk(multistep.StateHalted); ok {
		return nil, errors.New("build was halted")
	}
	return state, nil
}

// Halt records err for the runner and the user, and stops the build.
func Halt(state multistep.StateBag, err error) multistep.StepAction {
	state.Put("error", err)
	state.Get("ui").(packersdk.Ui).Error(err.Error())
	return multistep.ActionHalt
}

// Failed reports whether the build stopped early, so a step's Cleanup undoes
// its work (a cancelled or halted build keeps nothing).
func Failed(state multistep.StateBag) bool {
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	return cancelled || halted
}
