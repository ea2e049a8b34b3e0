//go:generate packer-sdc mapstructure-to-hcl2 -type Config,Network
//go:generate packer-sdc struct-markdown

package ovfvm

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// For developers: the post-processor holds Config as a `vm` block
// (`mapstructure:"vm"`, not squashed: its hardware_version would clash with
// the descriptor option of the same name), calls Prepare from Configure,
// and once it knows the artifact's files: Classify, MergeVMX when the
// artifact had a .vmx, OrderDisks, then Generate with the converted disks.

// Config describes the virtual machine the OVF is written for, when the
// input artifact has disks but no OVF (Packer's qemu builder, vmware-iso,
// file or artifice). Options left unset take the value of the artifact's
// `.vmx` when there is one (vmware-iso), else the default given here.
type Config struct {
	// VM name, shown by the importer and used as the OVF's VirtualSystem id.
	// Defaults to the .vmx's `displayName`, else to the first disk's file
	// name without its extension (the qemu builder's `vm_name`).
	Name string `mapstructure:"name"`
	// Number of virtual CPUs, 1 to 768. Defaults to 2.
	CPUs int `mapstructure:"cpus"`
	// Cores per virtual socket; `cpus` must be a multiple of it. Defaults
	// to 1 (one socket per CPU), as vSphere creates VMs.
	CoresPerSocket int `mapstructure:"cores_per_socket"`
	// Memory in MiB, a multiple of 4 (vSphere refuses other sizes), at
	// least 4. Defaults to 2048.
	Memory int `mapstructure:"memory"`
	// Firmware: `bios` or `efi`. Defaults to `bios`, or to `efi` when
	// `secure_boot` is true. The guest's disk must have been installed for
	// it: a disk partitioned and installed under BIOS does not boot with
	// EFI, nor the other way round.
	Firmware string `mapstructure:"firmware"`
	// Turn UEFI Secure Boot on. Needs `firmware = "efi"` and
	// `hardware_version` vmx-13 or later. Defaults to false.
	SecureBoot *bool `mapstructure:"secure_boot"`
	// vSphere guest OS identifier, for example `debian12_64Guest`,
	// `ubuntu64Guest`, `rhel9_64Guest`, `windows2019srv_64Guest`: the
	// values of vSphere's VirtualMachineGuestOsIdentifier (not the
	// Workstation `.vmx` names such as `ubuntu-64`). The OVF carries it
	// with the matching numeric CIM operating system id, as vSphere's
	// export does. Defaults to `otherLinux64Guest`.
	OSType string `mapstructure:"os_type"`
	// Virtual hardware version, `vmx-N`. Defaults to `vmx-14` (ESXi 6.7,
	// Workstation 14, Fusion 10 and later all run it, and it has every
	// device these options offer). It must not be below what the devices
	// need: `nvme` and `secure_boot` need vmx-13, `sata` vmx-10, `e1000e`
	// vmx-8. The descriptor option `hardware_version` outside this block,
	// when set, overrides it in each target's OVA.
	HardwareVersion string `mapstructure:"hardware_version"`
	// Controller the disks are attached to: `pvscsi` (VMware Paravirtual
	// SCSI), `lsilogic` (LSI Logic Parallel SCSI), `sata` (AHCI) or `nvme`.
	// Defaults to `pvscsi`. The guest needs a driver for it in its initial
	// ramdisk (Linux: vmw_pvscsi, mptspi, ahci, nvme); a disk built with
	// qemu's virtio only may lack it.
	DiskController string `mapstructure:"disk_controller"`
	// Network adapters, in order (the first is the guest's first NIC).
	// Repeat the block for each adapter, up to 10. Defaults to one
	// `vmxnet3` adapter on `VM Network`.
	Networks []Network `mapstructure:"network"`
	// The artifact's disk files in the order the VM sees them, by file name
	// or path; the first is the boot disk. Needed when the artifact has
	// more than one disk and the natural order of their names is not the
	// boot order; disks not listed are left out of the OVA. Defaults to the
	// .vmx's order (vmware-iso), else to the file names' natural order
	// (`disk`, `disk-1`, `disk-2`, `disk-10`).
	Disks []string `mapstructure:"disks"`
}

// Network is one virtual network adapter.
type Network struct {
	// Name of the network the adapter connects to. The deployer maps it to
	// one of their networks at import. Defaults to `VM Network`.
	Name string `mapstructure:"name"`
	// Adapter type: `vmxnet3` (paravirtual; Linux has the driver, Windows
	// gets it with VMware Tools) or `e1000e` (emulated Intel 82574, which
	// every guest drives without VMware Tools). Defaults to `vmxnet3`.
	Adapter string `mapstructure:"adapter"`
}

// Defaults and limits, documented on the options above.
const (
	DefaultCPUs            = 2
	DefaultCoresPerSocket  = 1
	DefaultMemory          = 2048
	DefaultFirmware        = FirmwareBIOS
	DefaultOSType          = "otherLinux64Guest"
	DefaultHardwareVersion = "vmx-14"
	DefaultDiskController  = ControllerPVSCSI
	DefaultNetworkName     = "VM Network"
	DefaultAdapter         = AdapterVMXNET3

	// MaxCPUs is vSphere 8's maximum (hardware version 20); older versions
	// allow fewer, which the importer reports.
	MaxCPUs = 768
	// MaxMemory is vSphere 8's maximum memory per VM, 24 TiB, in MiB.
	MaxMemory = 24 << 20
	// MaxNetworks is vSphere's maximum number of network adapters per VM.
	MaxNetworks = 10
)

// Firmware values.
const (
	FirmwareBIOS = "bios"
	FirmwareEFI  = "efi"
)

// Adapter values.
const (
	AdapterVMXNET3 = hardware.VMXNET3
	AdapterE1000E  = hardware.E1000E
)

// Prepare checks every option that is set and returns one error per
// problem, each naming the option and the values it takes. Unset options
// are not filled in: Resolve and Generate do that, so that a .vmx can
// supply them first. It is long because it checks each option in the
// order the struct declares them, one short block per option.
func (c *Config) Prepare() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("vm."+format, args...)) }
	if c.Name != "" {
		if err := checkText(c.Name); err != nil {
			add("name: %v", err)
		}
	}
	if c.CPUs < 0 || c.CPUs > MaxCPUs {
		add("cpus: %d is out of range; use 1 to %d", c.CPUs, MaxCPUs)
	}
	if c.CoresPerSocket < 0 {
		add("cores_per_socket: %d is negative; use 1 or more", c.CoresPerSocket)
	}
	if c.CPUs > 0 && c.CoresPerSocket > 0 && c.CPUs%c.CoresPerSocket != 0 {
		add("cores_per_socket: cpus (%d) is not a multiple of cores_per_socket (%d); use a divisor of cpus, such as %s",
			c.CPUs, c.CoresPerSocket, divisors(c.CPUs))
	}
	if c.Memory != 0 {
		if err := checkMemory(c.Memory); err != nil {
			add("memory: %v", err)
		}
	}
	fw := strings.ToLower(c.Firmware)
	switch fw {
	case "", FirmwareBIOS, FirmwareEFI:
	default:
		add("firmware: %q is not %q or %q", c.Firmware, FirmwareBIOS, FirmwareEFI)
	}
	if c.SecureBoot != nil && *c.SecureBoot && fw == FirmwareBIOS {
		add("secure_boot: UEFI Secure Boot needs firmware = %q, but firmware is %q", FirmwareEFI, c.Firmware)
	}
	if c.OSType != "" {
		if _, err := lookupGuest(c.OSType); err != nil {
			add("os_type: %v", err)
		}
	}
	hw := 0
	if c.HardwareVersion != "" {
		n, err := hardware.ParseVersion(c.HardwareVersion)
		if err != nil {
			add("hardware_version: %v", err)
		}
		hw = n
	}
	if c.DiskController != "" {
		if _, ok := lookupDiskController(c.DiskController); !ok {
			add("disk_controller: %q is not one of %s", c.DiskController, controllerNames())
		}
	}
	if len(c.Networks) > MaxNetworks {
		add("network: %d adapters; vSphere allows at most %d", len(c.Networks), MaxNetworks)
	}
	for i, n := range c.Networks {
		if n.Name != "" {
			if err := checkText(n.Name); err != nil {
				add("network[%d].name: %v", i, err)
			}
		}
		switch strings.ToLower(n.Adapter) {
		case "", AdapterVMXNET3, AdapterE1000E:
		default:
			add("network[%d].adapter: %q is not %q or %q", i, n.Adapter, AdapterVMXNET3, AdapterE1000E)
		}
	}
	seen := map[string]int{}
	for i, d := range c.Disks {
		if strings.TrimSpace(d) == "" {
			add("disks[%d]: empty; give a disk file's name or path", i)
			continue
		}
		if j, dup := seen[d]; dup {
			add("disks[%d]: %q is also disks[%d]; list each disk once", i, d, j)
		}
		seen[d] = i
	}
	if hw > 0 && len(errs) == 0 {
		// Only the options set here; Generate checks the resolved VM again.
		if err := c.resolved().checkHardwareVersion(hw); err != nil {
			add("hardware_version: %v", err)
		}
	}
	return errs
}

// checkMemory applies vSphere's rules for memoryMB.
func checkMemory(mib int) error {
	switch {
	case mib < 4:
		return fmt.Errorf("%d MiB is too small; use at least 4", mib)
	case mib%4 != 0:
		return fmt.Errorf("%d MiB is not a multiple of 4, which vSphere requires; use %d or %d", mib, mib/4*4, mib/4*4+4)
	case mib > MaxMemory:
		return fmt.Errorf("%d MiB is above vSphere's maximum of %d MiB (24 TiB)", mib, MaxMemory)
	}
	return nil
}

// checkText refuses what XML 1.0 cannot carry and what importers show
// badly: invalid UTF-8, control characters, surrounding white space.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("%q contains a control character (%U)", s, r)
		}
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%q has leading or trailing white space", s)
	}
	return nil
}

func divisors(n int) string {
	var d []string
	for i := 1; i <= n && len(d) < 6; i++ {
		if n%i == 0 {
			d = append(d, fmt.Sprint(i))
		}
	}
	return strings.Join(d, ", ")
}
