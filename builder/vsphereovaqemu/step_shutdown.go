package vsphereovaqemu

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/buildsteps"
	"github.com/ovakit/packer-plugin-vsphere-ova/builder/qemu"
)

// stepShutdown shuts the guest down after provisioning, with
// shutdown_command over the communicator or the ACPI power button, and
// waits up to shutdown_timeout for QEMU to exit. A guest still running then
// is an error (stepRun's Cleanup kills it): an export of disks the guest may
// still be writing would be silently corrupt.
type stepShutdown struct {
	config   *ShutdownConfig
	commType string
}

func (s *stepShutdown) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	m := state.Get("machine").(*qemu.Machine)
	ui := state.Get("ui").(packersdk.Ui)
	cfg := s.config
	wctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var err error
	if cfg.Command != "" && s.commType != "none" {
		if err := buildsteps.StartShutdownCommand(ctx, state, cfg.Command); err != nil {
			return halt(state, err)
		}
		err = m.Wait(wctx) // QEMU exiting is what counts
	} else {
		ui.Say("Pressing the ACPI power button (QMP system_powerdown) ...")
		err = m.Shutdown(wctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return halt(state, ctx.Err())
		}
		if wctx.Err() != nil {
			return halt(state, fmt.Errorf("the guest did not power off within shutdown_timeout = %s; raise it, or check shutdown_command", cfg.Timeout))
		}
		return halt(state, fmt.Errorf("waiting for the guest to power off: %w", err))
	}
	ui.Say("The guest powered off")
	return multistep.ActionContinue
}

func (s *stepShutdown) Cleanup(multistep.StateBag) {}
