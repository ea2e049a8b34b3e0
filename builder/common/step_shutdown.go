package common

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Machine is a running build VM as the steps after provisioning see it: the
// vSphere VM (VMware Tools, the power state) or the QEMU process (the ACPI
// power button, QEMU's exit). The state holds it under "machine".
type Machine interface {
	// ShutdownGuest asks the guest OS to shut down without a communicator.
	// It returns once the request is made, not when the VM is off.
	ShutdownGuest(ctx context.Context) error
	// WaitForPowerOff returns when the VM is powered off, or with ctx's error.
	WaitForPowerOff(ctx context.Context) error
}

// StepShutdown shuts the guest down after provisioning: with
// shutdown_command over the communicator, else through the machine, or not
// at all with disable_shutdown; then waits up to shutdown_timeout for the
// power-off. A guest still running then fails the step: an export of disks
// the guest may still be writing would be silently corrupt.
type StepShutdown struct {
	Config *ShutdownConfig
	// CommType is the communicator option; "none" has no remote commands.
	CommType string
	// GuestShutdown names how the machine shuts a guest down, for the log:
	// "VMware Tools", "the ACPI power button (QMP system_powerdown)".
	GuestShutdown string
}

func (s *StepShutdown) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	m := state.Get("machine").(Machine)
	ui := state.Get("ui").(packersdk.Ui)
	cfg := s.Config
	switch {
	case cfg.DisableShutdown:
		ui.Say("Waiting for the guest to power itself off ...")
	case cfg.Command != "" && s.CommType != "none":
		if err := StartShutdownCommand(ctx, state, cfg.Command); err != nil {
			return Halt(state, err)
		}
	default:
		ui.Say(fmt.Sprintf("Asking the guest to shut down through %s ...", s.GuestShutdown))
		if err := m.ShutdownGuest(ctx); err != nil {
			return Halt(state, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := m.WaitForPowerOff(wctx); err != nil {
		if ctx.Err() != nil {
			return Halt(state, ctx.Err())
		}
		if wctx.Err() != nil {
			return Halt(state, fmt.Errorf("the guest did not power off within shutdown_timeout = %s; raise it, or check shutdown_command", cfg.Timeout))
		}
		return Halt(state, fmt.Errorf("waiting for the guest to power off: %w", err))
	}
	ui.Say("The guest powered off")
	return multistep.ActionContinue
}

func (s *StepShutdown) Cleanup(multistep.StateBag) {}
