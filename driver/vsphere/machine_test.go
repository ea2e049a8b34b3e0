package vsphere

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func TestSkipExportItem(t *testing.T) {
	for _, c := range []struct {
		images, nvram bool
		path          string
		skip          bool
	}{
		{false, false, "disk-0.vmdk", false},
		{false, false, "disk-1.iso", true},
		{true, false, "disk-1.iso", false},
		{false, false, "vm.nvram", true},
		{false, true, "vm.NVRAM", false},
		{true, true, "floppy.flp", false},
	} {
		e := ExportOptions{Images: c.images, NVRAM: c.nvram}
		if got := skipExportItem(e, c.path); got != c.skip {
			t.Errorf("skipExportItem(images=%v, nvram=%v, %q) = %v, want %v", c.images, c.nvram, c.path, got, c.skip)
		}
	}
}

func TestExportName(t *testing.T) {
	if got := ExportName("app", "disk-0.vmdk"); got != "app-disk-0.vmdk" {
		t.Errorf("got %q", got)
	}
	if got := ExportName("app", "app-disk-0.vmdk"); got != "app-disk-0.vmdk" {
		t.Errorf("already prefixed: %q", got)
	}
}

// The machine interface against the simulator: a Tools shutdown powers the
// VM off, and WaitForPowerOff sees it; export refuses a running VM.
func TestVSphereMachine(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	c := simvm.Login(t, srv)
	m := &Machine{Client: c, VM: simvm.Import(t, c, "m")}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := WaitTask(ctx, "power on", m.VM.PowerOn); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Export(ctx, ExportOptions{Name: "m"}, nil); err == nil || !strings.Contains(err.Error(), "power it off") {
		t.Errorf("export of a running VM: %v", err)
	}
	if err := m.ShutdownGuest(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitForPowerOff(ctx); err != nil {
		t.Fatal(err)
	}
}
