package common

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// StartShutdownCommand starts shutdown_command over the build's
// communicator. Its exit status is not awaited: the command usually ends the
// connection, so the machine powering off is what counts, and each builder's
// shutdown step waits for that in its own way.
func StartShutdownCommand(ctx context.Context, state multistep.StateBag, command string) error {
	comm, ok := state.Get("communicator").(packersdk.Communicator)
	if !ok {
		return errors.New("shutdown_command needs a communicator")
	}
	state.Get("ui").(packersdk.Ui).Say("Running shutdown_command ...")
	if err := comm.Start(ctx, &packersdk.RemoteCmd{Command: command}); err != nil {
		return fmt.Errorf("running shutdown_command: %w", err)
	}
	return nil
}
