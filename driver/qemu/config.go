package qemu

import (
	"errors"
	"fmt"
	"log"
	"net"
	"os"
	"regexp"
	goruntime "runtime"
)

// Config describes one virtual machine. Zero values take the defaults noted;
// the builder fills it from the OVF and the user's overrides.
type Config struct {
	// Binary is the QEMU system emulator; default qemu-system-x86_64.
	Binary string
	// Accelerator is "auto" (default: the host's hardware accelerator when a
	// probe shows it really runs a guest, else TCG with a warning), "tcg",
	// or one that exists only on its host OS: "kvm" (Linux), "hvf" (macOS),
	// "whpx" (Windows); see CheckAccelerator.
	Accelerator string
	// MachineType is "q35" (default, PCIe like vSphere's hardware versions
	// 14+) or "pc" (i440FX, needed for an IDE controller).
	MachineType string
	// CPUs is the number of virtual CPUs (default 1); CoresPerSocket groups
	// them into sockets as vSphere's cpu_cores does (default: one socket).
	CPUs           int
	CoresPerSocket int
	// CPUModel is QEMU's -cpu model; default "host" under KVM and HVF,
	// "max" under TCG, QEMU's default under WHPX (cpuModel).
	CPUModel string
	// MemoryMiB is the guest's RAM (default 1024).
	MemoryMiB int
	// Firmware is "bios" (default, SeaBIOS) or "efi" (OVMF). SecureBoot
	// (efi only) uses OVMF with Microsoft's keys enrolled and Secure Boot on.
	Firmware   string
	SecureBoot bool
	// OVMFCode and OVMFVars override the firmware files found under
	// /usr/share/OVMF (Debian's ovmf package). OVMFVars is copied, never
	// written.
	OVMFCode, OVMFVars string

	// Controllers, then Disks attached to them by index. Disks[0] boots.
	Controllers []Controller
	Disks       []Disk
	// CDROMs are ISO images attached read-only (cd_files, the OVF
	// environment).
	CDROMs []string
	// NICs default to one vmxnet3.
	NICs []NIC
	// ForwardPort is a guest TCP port (22 for SSH) reachable on
	// 127.0.0.1:HostPort through the first NIC; 0 forwards nothing.
	ForwardPort int
	// HostPort is the host side of ForwardPort; 0 picks a free port.
	HostPort int

	// VNCBindAddress enables a VNC console on that address (127.0.0.1 to
	// keep it local), on a free port from 5900; "" means no VNC. The guest
	// always has a standard VGA card; QEMU never opens a window.
	VNCBindAddress string
	// SerialLog receives the guest's first serial port (ttyS0); default
	// serial.log in WorkDir, which is removed with it.
	SerialLog string
	// ExtraArgs are appended to QEMU's command line as they are (the
	// builder's qemuargs escape hatch).
	ExtraArgs []string

	// WorkDir holds the machine's own files (the OVMF variables, the default
	// serial log). Default: a new temporary folder, removed when QEMU exits.
	WorkDir string
	// Logf receives progress and warnings; default log.Printf (Packer's
	// plugin log).
	Logf func(format string, args ...any)
}

// Controller is a disk controller of one of the types in devices.go.
type Controller struct {
	Type string
}

// Disk is an image file attached to Controllers[Controller] at Unit (SCSI
// id, SATA port, NVMe namespace-1, or IDE bus*2+unit).
type Disk struct {
	Path string
	// Format is the image format: "qcow2" (default) or "raw".
	Format     string
	Controller int
	Unit       int
}

// NIC is a network adapter on its own user-mode network.
type NIC struct {
	// Model is vmxnet3, e1000e or e1000.
	Model string
	// MAC is the adapter's address (from the OVF); "" lets QEMU choose.
	MAC string
}

var macPattern = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)

// withDefaults returns a copy of c with defaults applied, or an error naming
// every invalid field.
func (c Config) withDefaults() (Config, error) {
	c.fillDefaults()
	errs := c.checkMachine()
	devErrs := c.normalizeDevices()
	return c, errors.Join(append(errs, devErrs...)...)
}

func (c *Config) fillDefaults() {
	if c.Binary == "" {
		c.Binary = "qemu-system-x86_64"
	}
	if c.Accelerator == "" {
		c.Accelerator = "auto"
	}
	if c.MachineType == "" {
		c.MachineType = "q35"
	}
	if c.CPUs == 0 {
		c.CPUs = 1
	}
	if c.CoresPerSocket == 0 {
		c.CoresPerSocket = c.CPUs
	}
	if c.MemoryMiB == 0 {
		c.MemoryMiB = 1024
	}
	if c.Firmware == "" {
		c.Firmware = "bios"
	}
	if len(c.NICs) == 0 {
		c.NICs = []NIC{{Model: VMXNET3}}
	}
	if c.Logf == nil {
		c.Logf = log.Printf
	}
}

// checkMachine checks accelerator, machine type, CPUs, memory, firmware,
// ports and the VNC address.
func (c *Config) checkMachine() []error {
	var errs []error
	if err := CheckAccelerator(c.Accelerator, goruntime.GOOS); err != nil {
		errs = append(errs, fmt.Errorf("accelerator %w", err))
	}
	switch c.MachineType {
	case "q35", "pc":
	default:
		errs = append(errs, fmt.Errorf("machine type %q: want q35 or pc", c.MachineType))
	}
	if c.CPUs < 1 || c.CoresPerSocket < 1 || c.CPUs%c.CoresPerSocket != 0 {
		errs = append(errs, fmt.Errorf("CPUs %d and cores per socket %d: CPUs must be a positive multiple of cores per socket", c.CPUs, c.CoresPerSocket))
	}
	if c.MemoryMiB < 16 {
		errs = append(errs, fmt.Errorf("memory %d MiB: too small", c.MemoryMiB))
	}
	switch c.Firmware {
	case "bios":
		if c.SecureBoot {
			errs = append(errs, errors.New("secure boot needs firmware \"efi\""))
		}
	case "efi":
		if c.SecureBoot && c.MachineType != "q35" {
			errs = append(errs, errors.New("secure boot needs machine type q35 (SMM)"))
		}
	default:
		errs = append(errs, fmt.Errorf("firmware %q: want bios or efi", c.Firmware))
	}
	if c.ForwardPort < 0 || c.ForwardPort > 65535 || c.HostPort < 0 || c.HostPort > 65535 {
		errs = append(errs, fmt.Errorf("ports %d/%d: out of range", c.ForwardPort, c.HostPort))
	}
	if c.VNCBindAddress != "" && net.ParseIP(c.VNCBindAddress) == nil {
		errs = append(errs, fmt.Errorf("VNC bind address %q: want an IP address such as 127.0.0.1", c.VNCBindAddress))
	}
	return errs
}

// normalizeDevices checks the disks and replaces Controllers and NICs with
// copies (not the caller's slices) whose types are parsed to QEMU's names.
func (c *Config) normalizeDevices() []error {
	var errs []error
	if len(c.Disks) == 0 {
		errs = append(errs, errors.New("no disks: at least the boot disk is needed"))
	}
	for i, d := range c.Disks {
		if _, err := os.Stat(d.Path); err != nil {
			errs = append(errs, fmt.Errorf("disks[%d]: %w", i, err))
		}
		if d.Format != "" && d.Format != "qcow2" && d.Format != "raw" {
			errs = append(errs, fmt.Errorf("disks[%d]: format %q: want qcow2 or raw", i, d.Format))
		}
	}
	ctls := make([]Controller, len(c.Controllers))
	for i, ctl := range c.Controllers {
		t, err := ParseController(ctl.Type)
		if err != nil {
			errs = append(errs, fmt.Errorf("controllers[%d]: %w", i, err))
		}
		ctls[i] = Controller{Type: t}
	}
	c.Controllers = ctls
	nics := make([]NIC, len(c.NICs))
	for i, n := range c.NICs {
		m, err := ParseNIC(n.Model)
		if err != nil {
			errs = append(errs, fmt.Errorf("nics[%d]: %w", i, err))
		}
		if n.MAC != "" && !macPattern.MatchString(n.MAC) {
			errs = append(errs, fmt.Errorf("nics[%d]: MAC %q: want six hex pairs like 00:50:56:aa:bb:cc", i, n.MAC))
		}
		nics[i] = NIC{Model: m, MAC: n.MAC}
	}
	c.NICs = nics
	return errs
}
