package vsphere

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func TestWaitTask(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	vm := simvm.Import(t, simvm.Login(t, srv), "tasks")
	ctx := t.Context()
	if err := WaitTask(ctx, "powering on", vm.PowerOn); err != nil {
		t.Fatalf("first power on: %v", err)
	}
	// The task starts but fails: its fault is returned, named.
	err := WaitTask(ctx, "powering on again", vm.PowerOn)
	if err == nil || !strings.HasPrefix(err.Error(), "powering on again: ") {
		t.Errorf("power on of a running VM: err = %v, want it named", err)
	}
	// The call that starts the task fails.
	err = WaitTask(ctx, "starting", func(context.Context) (*object.Task, error) { return nil, errors.New("refused") })
	if err == nil || err.Error() != "starting: refused" {
		t.Errorf("err = %v", err)
	}
}
