package vsphere

import (
	"context"
	"fmt"
	"time"

	"github.com/vmware/govmomi/object"
)

// CleanupTimeout bounds API calls made while cleaning up, which must not use
// the (possibly cancelled) build context.
const CleanupTimeout = 2 * time.Minute

// CleanupContext is the context for API calls in a step's Cleanup.
func CleanupContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), CleanupTimeout)
}

// WaitTask starts a vSphere task and waits for it to finish; what names the
// action in the error ("powering on the VM").
func WaitTask(ctx context.Context, what string, start func(context.Context) (*object.Task, error)) error {
	t, err := start(ctx)
	if err == nil {
		err = t.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
