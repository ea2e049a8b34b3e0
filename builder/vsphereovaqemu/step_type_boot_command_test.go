package vsphereovaqemu

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vnctest"
)

// fakeConsole is a machine whose VNC console is at addr.
type fakeConsole string

func (f fakeConsole) VNCAddress(context.Context) (string, error) { return string(f), nil }

// The step renders boot_command with the build's data and types it over
// VNC: every key pressed and released, capitals with shift, specials by
// their keysym. (A fake RFB server records the keys; the real-QEMU proof
// is TestBootCommandTypesIntoGuest.)
func TestStepTypeBootCommand(t *testing.T) {
	addr, keys := vnctest.Serve(t, 1)
	r := newStepRunner(t)
	r.state.Put("machine", fakeConsole(addr))
	r.state.Put("http_port", 8123)
	cfg := &QEMUConfig{VNCConfig: bootcommand.VNCConfig{
		BootConfig:      bootcommand.BootConfig{BootCommand: []string{"aB", "{{ .HTTPIP }}:{{ .HTTPPort }}<enter>"}, BootWait: time.Millisecond},
		BootKeyInterval: time.Millisecond,
	}}
	r.must(&stepTypeBootCommand{config: cfg, vmName: "vm", ictx: &interpolate.Context{}})
	r.cleanup()
	var down []uint32
	for k := range keys { // closed when the step has hung up
		if k.Down {
			down = append(down, k.Keysym)
		}
	}
	const shift = 0xFFE1
	want := []uint32{'a', shift, 'B', '1', '0', '.', '0', '.', '2', '.', '2', shift, ':', '8', '1', '2', '3', 0xFF0D}
	if !slices.Equal(down, want) {
		t.Errorf("keys pressed %x, want %x", down, want)
	}
}

// Without a boot_command the step does nothing (no VNC connection).
func TestStepTypeBootCommandNone(t *testing.T) {
	r := newStepRunner(t)
	r.must(&stepTypeBootCommand{config: &QEMUConfig{}, ictx: &interpolate.Context{}})
}
