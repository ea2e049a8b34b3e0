package ovfvm

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Controller values for disk_controller.
const (
	ControllerPVSCSI   = "pvscsi"
	ControllerLSILogic = "lsilogic"
	ControllerSATA     = "sata"
	ControllerNVMe     = "nvme"
)

// controller is how a vSphere export writes a disk controller item, as
// seen in vCenter 7/8 exports (govmomi ovf/fixtures/external: SimpleVm,
// VM_with_nvram, win19; internal/testkit/ovftest/testdata/efi.ovf) and in
// ovftool's CIM mapping (ResourceType from DSP1041 /
// CIM_ResourceAllocationSettingData: 6 Parallel SCSI HBA, 20 Other storage
// device).
type controller struct {
	resourceType int
	subtype      string
	description  string // rasd:Description
	label        string // rasd:ElementName prefix, "<label> 0"
	// units are the AddressOnParent values a disk may take, in order.
	units []int
	// minHW is the lowest hardware version with this controller (VMware KB
	// 1003746 "Virtual machine hardware versions").
	minHW int
	what  string
}

// scsiUnits skips unit 7, which the SCSI controller itself holds (vSphere:
// "SCSI controller ... unit number 7 is reserved").
var scsiUnits = []int{0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

var controllers = map[string]controller{
	// ESX 4.0 introduced PVSCSI (hardware version 7).
	ControllerPVSCSI:   {6, "VirtualSCSI", "SCSI Controller", "SCSI controller", scsiUnits, 7, "VMware Paravirtual SCSI controller"},
	ControllerLSILogic: {6, "lsilogic", "SCSI Controller", "SCSI controller", scsiUnits, 4, "LSI Logic SCSI controller"},
	// SATA AHCI: ESXi 5.5 (vmx-10), 30 devices per controller.
	ControllerSATA: {20, "vmware.sata.ahci", "SATA Controller", "SATA controller", seq(30), 10, "SATA (AHCI) controller"},
	// NVMe: ESXi 6.5 (vmx-13), 15 namespaces per controller before vSphere
	// 8.0 U2 raised it, so 15 is what every importer takes.
	ControllerNVMe: {20, "vmware.nvme.controller", "NVME Controller", "NVME controller", seq(15), 13, "NVMe controller"},
}

func controllerNames() string {
	return fmt.Sprintf("%q, %q, %q or %q", ControllerPVSCSI, ControllerLSILogic, ControllerSATA, ControllerNVMe)
}

// adapter is how a vSphere export writes a network adapter's subtype.
type adapter struct {
	subtype string // rasd:ResourceSubType, also the Description's first word
	minHW   int
	what    string
}

var adapters = map[string]adapter{
	AdapterVMXNET3: {"VmxNet3", 7, "VMXNET3 network adapter"}, // ESX 4.0
	AdapterE1000E:  {"E1000e", 8, "E1000e network adapter"},   // ESXi 5.0
}

// Lowest hardware versions for firmware settings (vSphere "Hardware
// Features Available with Virtual Machine Compatibility Settings"): EFI
// came with ESXi 5.0 (vmx-8), UEFI Secure Boot with ESXi 6.5 (vmx-13).
const (
	minHWEFI        = 8
	minHWSecureBoot = 13
	minHW           = 4 // the lowest family OVF exports name
)

var vmxRE = regexp.MustCompile(`^vmx-0*([0-9]{1,3})$`)

// ParseHardwareVersion reads `vmx-N` (vSphere writes both vmx-07 and
// vmx-21) and returns N.
func ParseHardwareVersion(s string) (int, error) {
	m := vmxRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a VMware hardware version; write vmx-N, for example %s", s, DefaultHardwareVersion)
	}
	n, _ := strconv.Atoi(m[1])
	if n < minHW {
		return 0, fmt.Errorf("%q: hardware versions below vmx-%d cannot be written to OVF", s, minHW)
	}
	return n, nil
}

// vm is a Config with every option resolved.
type vm struct {
	name           string
	cpus, cores    int
	memory         int
	firmware       string
	secureBoot     bool
	guest          guestOS
	hwVersion      int
	controllerName string
	controller     controller
	networks       []Network
}

// resolved fills unset options with their defaults. The Config must have
// passed Prepare; unknown values fall back to defaults here and are
// reported by Prepare, not by this.
func (c *Config) resolved() vm {
	v := vm{name: c.Name, cpus: c.CPUs, cores: c.CoresPerSocket, memory: c.Memory}
	if v.cpus == 0 {
		v.cpus = DefaultCPUs
	}
	if v.cores == 0 {
		v.cores = DefaultCoresPerSocket
	}
	if v.memory == 0 {
		v.memory = DefaultMemory
	}
	v.secureBoot = c.SecureBoot != nil && *c.SecureBoot
	v.firmware = strings.ToLower(c.Firmware)
	if v.firmware == "" {
		v.firmware = DefaultFirmware
		if v.secureBoot {
			v.firmware = FirmwareEFI
		}
	}
	os := c.OSType
	if os == "" {
		os = DefaultOSType
	}
	if g, err := lookupGuest(os); err == nil {
		v.guest = g
	} else {
		v.guest, _ = lookupGuest(DefaultOSType)
	}
	hw := c.HardwareVersion
	if hw == "" {
		hw = DefaultHardwareVersion
	}
	v.hwVersion, _ = ParseHardwareVersion(hw)
	v.controllerName = strings.ToLower(c.DiskController)
	if v.controllerName == "" {
		v.controllerName = DefaultDiskController
	}
	v.controller = controllers[v.controllerName]
	if len(c.Networks) == 0 {
		v.networks = []Network{{}}
	} else {
		v.networks = append([]Network(nil), c.Networks...)
	}
	for i := range v.networks {
		if v.networks[i].Name == "" {
			v.networks[i].Name = DefaultNetworkName
		}
		v.networks[i].Adapter = strings.ToLower(v.networks[i].Adapter)
		if v.networks[i].Adapter == "" {
			v.networks[i].Adapter = DefaultAdapter
		}
	}
	return v
}

// minHardwareVersion returns the lowest hardware version the VM's devices
// and firmware settings need, and what needs it.
func (v vm) minHardwareVersion() (int, string) {
	version, what := v.controller.minHW, fmt.Sprintf("disk_controller %q (%s)", v.controllerName, v.controller.what)
	need := func(n int, w string) {
		if n > version {
			version, what = n, w
		}
	}
	for i, n := range v.networks {
		a := adapters[n.Adapter]
		need(a.minHW, fmt.Sprintf("network[%d] adapter %q (%s)", i, n.Adapter, a.what))
	}
	if v.firmware == FirmwareEFI {
		need(minHWEFI, `firmware "efi"`)
	}
	if v.secureBoot {
		need(minHWSecureBoot, "secure_boot (UEFI Secure Boot)")
	}
	return version, what
}

// checkHardwareVersion refuses a version below what a device or firmware
// setting of the VM needs, naming the highest such need.
func (v vm) checkHardwareVersion(hw int) error {
	if need, what := v.minHardwareVersion(); need > hw {
		return fmt.Errorf("vmx-%02d is below vmx-%02d, which %s needs; use vmx-%02d or later", hw, need, what, need)
	}
	return nil
}
