package vsphereova

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/buildsteps"
)

// stepShutdown shuts the guest down after provisioning: with
// shutdown_command over the communicator, else through the machine (VMware
// Tools), or not at all with disable_shutdown; then waits up to
// shutdown_timeout for power-off. It needs only the machine interface.
type stepShutdown struct {
	config   *ShutdownConfig
	commType string // the communicator option; "none" has no remote commands
}

func (s *stepShutdown) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	m := state.Get("machine").(machine)
	ui := state.Get("ui").(packersdk.Ui)
	cfg := s.config
	switch {
	case cfg.DisableShutdown:
		ui.Say("Waiting for the guest to power itself off ...")
	case cfg.Command != "" && s.commType != "none":
		if err := buildsteps.StartShutdownCommand(ctx, state, cfg.Command); err != nil {
			return halt(state, err)
		}
	default:
		ui.Say("Asking the guest to shut down ...")
		if err := m.ShutdownGuest(ctx); err != nil {
			return halt(state, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := m.WaitForPowerOff(wctx); err != nil {
		if ctx.Err() != nil {
			return halt(state, ctx.Err())
		}
		if wctx.Err() != nil {
			return halt(state, fmt.Errorf("the VM did not power off within shutdown_timeout = %s", cfg.Timeout))
		}
		return halt(state, fmt.Errorf("waiting for the VM to power off: %w", err))
	}
	ui.Say("VM is powered off")
	return multistep.ActionContinue
}

func (s *stepShutdown) Cleanup(multistep.StateBag) {}
