package vsphere

import (
	"context"
	"fmt"
	"log"

	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/vim25/types"
)

// WithLease runs transfer while an NFC lease (ImportVApp or ExportVm) is
// ready: it waits for the lease, reports progress so vSphere does not time
// it out, and completes it. When anything fails, including a cancelled build,
// the lease is aborted, which for an import makes vSphere delete the
// half-imported VM. items are the import spec's file items (nil for export).
func WithLease(ctx context.Context, lease *nfc.Lease, items []types.OvfFileItem, transfer func(*nfc.LeaseInfo) error) error {
	info, err := lease.Wait(ctx, items)
	if err != nil {
		abortLease(lease)
		return fmt.Errorf("waiting for the NFC lease: %w", err)
	}
	updater := lease.StartUpdater(ctx, info)
	err = transfer(info)
	updater.Done()
	if err != nil {
		abortLease(lease)
		return err
	}
	if err := lease.Complete(ctx); err != nil {
		return fmt.Errorf("completing the NFC lease: %w", err)
	}
	return nil
}

// abortLease aborts with a fresh context: the build's may be cancelled.
func abortLease(lease *nfc.Lease) {
	ctx, cancel := CleanupContext()
	defer cancel()
	if err := lease.Abort(ctx, nil); err != nil {
		log.Printf("aborting the NFC lease: %v", err)
	}
}
