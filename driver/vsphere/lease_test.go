package vsphere

import (
	"errors"
	"strings"
	"testing"

	"github.com/vmware/govmomi/nfc"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func TestWithLease(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	c := simvm.Login(t, srv)

	// Success: the lease completes and the VM stays.
	lease, items := simvm.StartImport(t, c, "kept")
	if err := WithLease(t.Context(), lease, items, func(*nfc.LeaseInfo) error { return nil }); err != nil {
		t.Fatalf("WithLease: %v", err)
	}
	if vms := srv.VMNames(); len(vms) != 1 || vms[0] != "kept" {
		t.Fatalf("after a completed import: %v", vms)
	}

	// A failing transfer aborts the lease, so vSphere removes the VM.
	lease, items = simvm.StartImport(t, c, "aborted")
	var ran bool
	err := WithLease(t.Context(), lease, items, func(*nfc.LeaseInfo) error {
		ran = true
		if vms := srv.VMNames(); len(vms) != 2 {
			t.Errorf("during the transfer the inventory is %v, want the new VM in it", vms)
		}
		return errors.New("upload broken on purpose")
	})
	if !ran || err == nil || !strings.Contains(err.Error(), "broken on purpose") {
		t.Fatalf("ran=%v err=%v, want the transfer's error", ran, err)
	}
	if vms := srv.VMNames(); len(vms) != 1 || vms[0] != "kept" {
		t.Errorf("after a failed transfer the inventory is %v, want only [kept]", vms)
	}
	if _, err := lease.Properties(t.Context(), "state"); err == nil {
		t.Error("the lease still exists after the failed transfer")
	}
}
