//go:generate packer-sdc mapstructure-to-hcl2 -type Config,NetworkAdapter,RenamedNetwork
//go:generate packer-sdc struct-markdown

package ovfvm

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/renamed"
)

// For developers: the post-processor holds Config as a `vm` block
// (`mapstructure:"vm"`, not squashed: it describes the VM, apart from the
// descriptor options), calls Prepare from Configure,
// and once it knows the artifact's files: Classify, MergeVMX when the
// artifact had a .vmx, OrderDisks, then Generate with the converted disks.

// Config describes the virtual machine the OVF is written for, when the
// input artifact has disks but no OVF (Packer's qemu builder, vmware-iso,
// file or artifice). Options left unset take the value of the artifact's
// `.vmx` when there is one (vmware-iso), else the default given here. The
// names are vsphere-iso's.
type Config struct {
	// VM name, shown by the importer and used as the OVF's VirtualSystem id.
	// Defaults to the .vmx's `displayName`, else to the first disk's file
	// name without its extension (the qemu builder's `vm_name`).
	Name string `mapstructure:"name"`
	// Number of virtual CPUs, 1 to 768. Defaults to 2.
	CPUs int `mapstructure:"CPUs"`
	// Cores per virtual socket; `CPUs` must be a multiple of it. Defaults
	// to 1 (one socket per CPU), as vSphere creates VMs.
	CoresPerSocket int `mapstructure:"cpu_cores"`
	// Memory in MiB, a multiple of 4 (vSphere refuses other sizes), at
	// least 4. Defaults to 2048.
	Memory int `mapstructure:"RAM"`
	// Firmware: `bios`, `efi`, or `efi-secure` (EFI with UEFI Secure Boot,
	// which needs `vm_version` 13 or later). Defaults to `bios`. The
	// guest's disk must have been installed for it: a disk partitioned and
	// installed under BIOS does not boot with EFI, nor the other way round.
	Firmware string `mapstructure:"firmware"`
	// vSphere guest OS identifier, for example `debian12_64Guest`,
	// `ubuntu64Guest`, `rhel9_64Guest`, `windows2019srv_64Guest`: the
	// values of vSphere's VirtualMachineGuestOsIdentifier (not the
	// Workstation `.vmx` names such as `ubuntu-64`). The OVF carries it
	// with the matching numeric CIM operating system id, as vSphere's
	// export does. Defaults to `otherLinux64Guest`.
	OSType string `mapstructure:"guest_os_type"`
	// Virtual hardware version: a number (`vm_version = 19`, as in
	// vsphere-iso), `"19"` or `"vmx-19"`. Defaults to 14 (ESXi 6.7,
	// Workstation 14, Fusion 10 and later all run it, and it has every
	// device these options offer). It must not be below what the devices
	// need: `nvme` and `efi-secure` need 13, `sata` 10, `e1000e` 8. The
	// descriptor option `hardware_version` outside this block, when set,
	// overrides it in each target's OVA.
	HardwareVersion string `mapstructure:"vm_version"`
	// Controller the disks are attached to, as a list of one (vsphere-iso's
	// shape; every disk goes on that controller): `pvscsi` (VMware
	// Paravirtual SCSI), `lsilogic` (LSI Logic Parallel SCSI), `sata` (AHCI)
	// or `nvme`. Defaults to `["pvscsi"]`. The guest needs a driver for it
	// in its initial ramdisk (Linux: vmw_pvscsi, mptspi, ahci, nvme); a disk
	// built with qemu's virtio only may lack it.
	DiskControllerType []string `mapstructure:"disk_controller_type"`
	// Network adapters, in order (the first is the guest's first NIC).
	// Repeat the block for each adapter, up to 10. Defaults to one
	// `vmxnet3` adapter on `VM Network`.
	Networks []NetworkAdapter `mapstructure:"network_adapters"`
	// The artifact's disk files in the order the VM sees them, by file name
	// or path; the first is the boot disk. Needed when the artifact has
	// more than one disk and the natural order of their names is not the
	// boot order; disks not listed are left out of the OVA. Defaults to the
	// .vmx's order (vmware-iso), else to the file names' natural order
	// (`disk`, `disk-1`, `disk-2`, `disk-10`).
	Disks []string `mapstructure:"disks"`

	// Renamed options (see internal/renamed): kept only so that Prepare
	// names their replacements.
	RenamedCPUs            *string          `mapstructure:"cpus" undocumented:"true"`
	RenamedCoresPerSocket  *string          `mapstructure:"cores_per_socket" undocumented:"true"`
	RenamedMemory          *string          `mapstructure:"memory" undocumented:"true"`
	RenamedSecureBoot      *string          `mapstructure:"secure_boot" undocumented:"true"`
	RenamedOSType          *string          `mapstructure:"os_type" undocumented:"true"`
	RenamedHardwareVersion *string          `mapstructure:"hardware_version" undocumented:"true"`
	RenamedDiskController  *string          `mapstructure:"disk_controller" undocumented:"true"`
	RenamedNetworks        []RenamedNetwork `mapstructure:"network" undocumented:"true"`
}

// NetworkAdapter is one virtual network adapter, as vsphere-iso's
// `network_adapters` block describes it.
type NetworkAdapter struct {
	// Name of the network the adapter connects to. The deployer maps it to
	// one of their networks at import. Defaults to `VM Network`.
	Network string `mapstructure:"network"`
	// Adapter type: `vmxnet3` (paravirtual; Linux has the driver, Windows
	// gets it with VMware Tools) or `e1000e` (emulated Intel 82574, which
	// every guest drives without VMware Tools). Defaults to `vmxnet3`.
	NetworkCard string `mapstructure:"network_card"`
	// A static MAC address, such as `00:50:56:00:12:34`, written as the
	// adapter's `rasd:Address`, where vSphere's export with its `mac`
	// option writes it. It must be a unicast address. With VMware's prefix
	// use 00:50:56:00:00:00 to 00:50:56:3f:ff:ff (vCenter generates the
	// addresses above); vSphere 6.5 and later take other unique addresses
	// too. Every VM deployed from the OVA gets the same address. Defaults
	// to none: the importer generates one.
	MACAddress string `mapstructure:"mac_address"`
}

// RenamedNetwork is the removed `network` block's shape, kept so that its
// options decode and Prepare can name their replacements.
type RenamedNetwork struct {
	Name    *string `mapstructure:"name" undocumented:"true"`
	Adapter *string `mapstructure:"adapter" undocumented:"true"`
}

// renamed lists the removed names; the new ones are vsphere-iso's.
func (c *Config) renamed() []error {
	iso := func(old string, set bool, new string) renamed.Option {
		return renamed.Option{Old: "vm." + old, Set: set, New: "vm." + new, From: "vsphere-iso"}
	}
	opts := []renamed.Option{
		iso("cpus", renamed.IsSet(c.RenamedCPUs), "CPUs"),
		iso("cores_per_socket", renamed.IsSet(c.RenamedCoresPerSocket), "cpu_cores"),
		iso("memory", renamed.IsSet(c.RenamedMemory), "RAM"),
		{Old: "vm.secure_boot", Set: renamed.IsSet(c.RenamedSecureBoot), New: `vm.firmware = "efi-secure"`, From: "vsphere-iso",
			Hint: "firmware takes bios, efi or efi-secure"},
		iso("os_type", renamed.IsSet(c.RenamedOSType), "guest_os_type"),
		iso("hardware_version", renamed.IsSet(c.RenamedHardwareVersion), "vm_version"),
		{Old: "vm.disk_controller", Set: renamed.IsSet(c.RenamedDiskController), New: "vm.disk_controller_type", From: "vsphere-iso",
			Hint: `a list of one, such as disk_controller_type = ["pvscsi"]`},
		{Old: "vm.network", Set: len(c.RenamedNetworks) > 0, New: "vm.network_adapters", From: "vsphere-iso",
			Hint: "in its blocks network replaces name and network_card replaces adapter"},
	}
	return renamed.Refuse(opts...)
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

// Firmware values (vsphere-iso's).
const (
	FirmwareBIOS      = "bios"
	FirmwareEFI       = "efi"
	FirmwareEFISecure = "efi-secure"
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
	errs := c.renamed()
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("vm."+format, args...)) }
	if c.Name != "" {
		if err := checkText(c.Name); err != nil {
			add("name: %v", err)
		}
	}
	if c.CPUs < 0 || c.CPUs > MaxCPUs {
		add("CPUs: %d is out of range; use 1 to %d", c.CPUs, MaxCPUs)
	}
	if c.CoresPerSocket < 0 {
		add("cpu_cores: %d is negative; use 1 or more", c.CoresPerSocket)
	}
	if c.CPUs > 0 && c.CoresPerSocket > 0 && c.CPUs%c.CoresPerSocket != 0 {
		add("cpu_cores: CPUs (%d) is not a multiple of cpu_cores (%d); use a divisor of CPUs, such as %s",
			c.CPUs, c.CoresPerSocket, divisors(c.CPUs))
	}
	if c.Memory != 0 {
		if err := checkMemory(c.Memory); err != nil {
			add("RAM: %v", err)
		}
	}
	switch strings.ToLower(c.Firmware) {
	case "", FirmwareBIOS, FirmwareEFI, FirmwareEFISecure:
	default:
		add("firmware: %q is not %q, %q or %q", c.Firmware, FirmwareBIOS, FirmwareEFI, FirmwareEFISecure)
	}
	if c.OSType != "" {
		if _, err := lookupGuest(c.OSType); err != nil {
			add("guest_os_type: %v", err)
		}
	}
	hw := 0
	if c.HardwareVersion != "" {
		n, err := hardware.ParseVersion(c.HardwareVersion)
		if err != nil {
			add("vm_version: %v", err)
		}
		hw = n
	}
	switch len(c.DiskControllerType) {
	case 0:
	case 1:
		if _, ok := lookupDiskController(c.DiskControllerType[0]); !ok {
			add("disk_controller_type: %q is not one of %s", c.DiskControllerType[0], controllerNames())
		}
	default:
		add("disk_controller_type: %d controllers; every disk goes on one controller, so give one, such as [%q]", len(c.DiskControllerType), DefaultDiskController)
	}
	errs = append(errs, checkNetworks(c.Networks)...)
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
			add("vm_version: %v", err)
		}
	}
	return errs
}

// DiskController is the disk_controller_type given, "" when none.
func (c *Config) DiskController() string {
	if len(c.DiskControllerType) == 0 {
		return ""
	}
	return c.DiskControllerType[0]
}

// checkNetworks checks the network_adapters blocks.
func checkNetworks(nets []NetworkAdapter) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("vm."+format, args...)) }
	if len(nets) > MaxNetworks {
		add("network_adapters: %d adapters; vSphere allows at most %d", len(nets), MaxNetworks)
	}
	macs := map[string]int{}
	for i, n := range nets {
		if n.Network != "" {
			if err := checkText(n.Network); err != nil {
				add("network_adapters[%d].network: %v", i, err)
			}
		}
		switch strings.ToLower(n.NetworkCard) {
		case "", AdapterVMXNET3, AdapterE1000E:
		default:
			add("network_adapters[%d].network_card: %q is not %q or %q", i, n.NetworkCard, AdapterVMXNET3, AdapterE1000E)
		}
		if n.MACAddress == "" {
			continue
		}
		mac, err := normalizeMAC(n.MACAddress)
		if err != nil {
			add("network_adapters[%d].mac_address: %v", i, err)
			continue
		}
		if j, dup := macs[mac]; dup {
			add("network_adapters[%d].mac_address: %s is also network_adapters[%d]'s; each adapter needs its own", i, mac, j)
		}
		macs[mac] = i
	}
	return errs
}

// normalizeMAC checks a static MAC address and writes it as vSphere's
// export does: six lower-case hex pairs joined by ':'.
func normalizeMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	switch {
	case err != nil || len(hw) != 6:
		return "", fmt.Errorf("%q is not a MAC address; write six hex pairs, such as 00:50:56:00:12:34", s)
	case hw[0]&1 == 1:
		return "", fmt.Errorf("%q is a multicast address; a network adapter needs a unicast one, such as 00:50:56:00:12:34", s)
	case hw.String() == "00:00:00:00:00:00":
		return "", fmt.Errorf("%q is all zeros; give the adapter's address, such as 00:50:56:00:12:34", s)
	}
	return hw.String(), nil
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
