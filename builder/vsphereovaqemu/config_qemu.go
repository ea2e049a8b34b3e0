//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"
	"net"
	"runtime"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
)

// QEMUConfig is how QEMU runs the machine (step_run.go).
type QEMUConfig struct {
	// The QEMU system emulator. Defaults to `qemu-system-x86_64`.
	QEMUBinary string `mapstructure:"qemu_binary"`
	// `auto` (default): the host's hardware accelerator when a probe shows
	// that it really runs a guest, else TCG (software emulation, many times
	// slower) with a warning. Or one forced: `tcg` anywhere, `kvm` on Linux,
	// `hvf` (Hypervisor.framework) on macOS, `whpx` (Windows Hypervisor
	// Platform) on Windows; one named for another OS is a configuration
	// error that says what to use there. `/dev/kvm` alone is not trusted: on
	// nested hosts it exists and hangs guests. HVF runs only guests of the
	// host's own architecture (x86_64 guests on Apple silicon run under
	// TCG), and WHPX needs a QEMU built with it.
	Accelerator string `mapstructure:"accelerator"`
	// QEMU machine type: `q35` (default, PCIe as on vSphere's hardware 14+)
	// or `pc` (i440FX, the only one with an IDE controller for disks).
	MachineType string `mapstructure:"machine_type"`
	// QEMU never opens a window; the option is accepted for templates
	// written for Packer's qemu builder. Use `vnc_bind_address` to watch the
	// console.
	Headless bool `mapstructure:"headless"`
	// Address the VNC console listens on (first free port from 5900, shown
	// in the build output). Defaults to `127.0.0.1`; `none` disables VNC.
	VNCBindAddress string `mapstructure:"vnc_bind_address"`
	// Extra arguments appended to QEMU's command line, each a list such as
	// `["-device", "virtio-rng-pci"]`. An escape hatch: the machine the OVF
	// describes is still built first.
	QEMUArgs [][]string `mapstructure:"qemuargs"`
}

// Prepare sets the defaults and checks the section for this host.
func (c *QEMUConfig) Prepare() []error { return c.prepare(runtime.GOOS) }

// prepare is Prepare on goos, so tests decide every platform on any host.
func (c *QEMUConfig) prepare(goos string) []error {
	var errs []error
	if c.QEMUBinary == "" {
		c.QEMUBinary = "qemu-system-x86_64"
	}
	if c.Accelerator == "" {
		c.Accelerator = "auto"
	}
	if err := qemu.CheckAccelerator(c.Accelerator, goos); err != nil {
		errs = append(errs, fmt.Errorf("accelerator %w", err))
	}
	if c.MachineType == "" {
		c.MachineType = "q35"
	}
	if c.MachineType != "q35" && c.MachineType != "pc" {
		errs = append(errs, fmt.Errorf("machine_type %q: expected q35 or pc", c.MachineType))
	}
	if c.VNCBindAddress == "" {
		c.VNCBindAddress = "127.0.0.1"
	}
	if c.VNCBindAddress != "none" && net.ParseIP(c.VNCBindAddress) == nil {
		errs = append(errs, fmt.Errorf("vnc_bind_address %q: expected an IP address such as 127.0.0.1, or none", c.VNCBindAddress))
	}
	return errs
}

// vncAddress is the driver's VNCBindAddress ("" for none).
func (c *QEMUConfig) vncAddress() string {
	if c.VNCBindAddress == "none" {
		return ""
	}
	return c.VNCBindAddress
}

// extraArgs flattens qemuargs.
func (c *QEMUConfig) extraArgs() []string {
	var out []string
	for _, a := range c.QEMUArgs {
		out = append(out, a...)
	}
	return out
}
