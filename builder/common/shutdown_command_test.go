package common

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func TestStartShutdownCommand(t *testing.T) {
	ui, out := testUI()
	state := new(multistep.BasicStateBag)
	state.Put("ui", ui)
	if err := StartShutdownCommand(context.Background(), state, "sudo poweroff"); err == nil || !strings.Contains(err.Error(), "needs a communicator") {
		t.Errorf("without a communicator: %v", err)
	}
	comm := new(packersdk.MockCommunicator)
	state.Put("communicator", comm)
	if err := StartShutdownCommand(context.Background(), state, "sudo poweroff"); err != nil {
		t.Fatal(err)
	}
	if !comm.StartCalled || comm.StartCmd.Command != "sudo poweroff" {
		t.Errorf("communicator ran %+v", comm.StartCmd)
	}
	if !strings.Contains(out.String(), "Running shutdown_command ...") {
		t.Errorf("output %q", out.String())
	}
}
