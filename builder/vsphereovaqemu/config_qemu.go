//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
)

// QEMUConfig is how QEMU runs the machine (step_run.go) and what is typed
// on its console (step_type_boot_command.go).
type QEMUConfig struct {
	// boot_command, boot_wait, boot_key_interval, boot_keygroup_interval
	// and disable_vnc (no VNC server: the same as vnc_bind_address =
	// "none"), as in Packer's qemu builder.
	bootcommand.VNCConfig `mapstructure:",squash"`
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
	// QEMU's `-cpu` model, as in Packer's qemu builder. Defaults to `host`
	// (the host's own CPU) under KVM and HVF, and to `max` (every feature
	// QEMU emulates) under TCG: QEMU's own default, `qemu64`, lacks the
	// x86-64-v2 features (SSE4.2, POPCNT, SSSE3) that RHEL 9 and its
	// rebuilds need to boot. Under WHPX QEMU's default is kept. Set a
	// named model (`Skylake-Server`, `EPYC`, ...) to build on the CPU
	// features of the vSphere cluster the appliance will run on.
	CPUModel string `mapstructure:"cpu_model"`
	// QEMU machine type: `q35` (default, PCIe as on vSphere's hardware 14+)
	// or `pc` (i440FX, the only one with an IDE controller for disks).
	MachineType string `mapstructure:"machine_type"`
	// QEMU never opens a window; the option is accepted for templates
	// written for Packer's qemu builder. Use `vnc_bind_address` to watch the
	// console.
	Headless bool `mapstructure:"headless"`
	// Address the VNC console listens on (first free port from 5900, shown
	// in the build output). Defaults to `127.0.0.1`; `none` disables VNC,
	// as `disable_vnc` does. `boot_command` is typed through it.
	VNCBindAddress string `mapstructure:"vnc_bind_address"`
	// The OVMF code file (read-only firmware) for guests with EFI firmware,
	// as in Packer's qemu builder. Defaults to the first of
	// `OVMF_CODE_4M.fd` and `OVMF_CODE.fd` (`OVMF_CODE_4M.secboot.fd` with
	// Secure Boot) found in `/usr/share/OVMF` or `/usr/share/edk2/ovmf`.
	// Set together with `efi_firmware_vars`.
	EFIFirmwareCode string `mapstructure:"efi_firmware_code"`
	// The OVMF variables template matching `efi_firmware_code`; the build
	// works on a copy, the file is never written. Defaults like
	// `efi_firmware_code` (`OVMF_VARS_4M.fd`, or `OVMF_VARS_4M.ms.fd` with
	// Microsoft's keys for Secure Boot).
	EFIFirmwareVars string `mapstructure:"efi_firmware_vars"`
	// Folder in which each build makes its working folder
	// (`packer-vsphere-ova-qemu-*`, removed at the end): the working copies
	// of the disks (sparse raw files as large as the appliance's data),
	// the OVF environment CD and QEMU's own files. Defaults to the folder
	// holding `output_directory`, so the working disks share its file
	// system, not TMPDIR, which Debian 13 and Fedora mount as a RAM-backed
	// tmpfs. Created when missing. The build stops before decoding when
	// its file system has less free space than the disks' data (the OVF's
	// `ovf:populatedSize`). Working folders of killed builds found here
	// are removed.
	WorkingDirectory string `mapstructure:"working_directory"`
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
	if c.DisableVNC {
		c.VNCBindAddress = "none"
	}
	if c.VNCBindAddress == "" {
		c.VNCBindAddress = "127.0.0.1"
	}
	if c.VNCBindAddress != "none" && net.ParseIP(c.VNCBindAddress) == nil {
		errs = append(errs, fmt.Errorf("vnc_bind_address %q: expected an IP address such as 127.0.0.1, or none", c.VNCBindAddress))
	}
	errs = append(errs, c.prepareBoot()...)
	return append(errs, c.prepareFirmwareFiles()...)
}

// prepareBoot checks boot_command (the SDK's syntax check) and that there
// is a VNC server to type it into.
func (c *QEMUConfig) prepareBoot() []error {
	var errs []error
	if len(c.BootCommand) > 0 && c.VNCBindAddress == "none" {
		why := "disable_vnc = true"
		if !c.DisableVNC {
			why = `vnc_bind_address = "none"`
		}
		errs = append(errs, fmt.Errorf("boot_command is typed over QEMU's VNC console, which %s turns off: remove that, or the boot_command", why))
	}
	// The SDK's check, without its disable_vnc error (said above).
	for _, err := range c.BootConfig.Prepare(nil) {
		errs = append(errs, fmt.Errorf("boot_command: %w", err))
	}
	return errs
}

// prepareFirmwareFiles checks efi_firmware_code and efi_firmware_vars:
// both or neither, each an existing file.
func (c *QEMUConfig) prepareFirmwareFiles() []error {
	if c.EFIFirmwareCode == "" && c.EFIFirmwareVars == "" {
		return nil
	}
	if c.EFIFirmwareCode == "" || c.EFIFirmwareVars == "" {
		return []error{errors.New("efi_firmware_code and efi_firmware_vars: set both (a code file and the variables template built with it), or neither to use the installed OVMF")}
	}
	var errs []error
	for _, f := range []struct{ opt, path string }{{"efi_firmware_code", c.EFIFirmwareCode}, {"efi_firmware_vars", c.EFIFirmwareVars}} {
		if st, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.opt, err))
		} else if !st.Mode().IsRegular() {
			errs = append(errs, fmt.Errorf("%s: %s is not a file", f.opt, f.path))
		}
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
