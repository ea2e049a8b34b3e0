package ovfvm

import (
	"fmt"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// Controller values for disk_controller_type: the catalog's names of the
// controllers a vSphere export offers for new disks.
const (
	ControllerPVSCSI   = hardware.PVSCSI
	ControllerLSILogic = hardware.LSILogic
	ControllerSATA     = hardware.SATA
	ControllerNVMe     = hardware.NVMe
)

// diskControllers are the values disk_controller_type takes.
var diskControllers = []string{ControllerPVSCSI, ControllerLSILogic, ControllerSATA, ControllerNVMe}

// lookupDiskController returns the catalog entry of a disk_controller_type value.
func lookupDiskController(name string) (hardware.Controller, bool) {
	n := strings.ToLower(name)
	for _, c := range diskControllers {
		if n == c {
			return hardware.LookupController(c)
		}
	}
	return hardware.Controller{}, false
}

func controllerNames() string {
	return fmt.Sprintf("%q, %q, %q or %q", ControllerPVSCSI, ControllerLSILogic, ControllerSATA, ControllerNVMe)
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
	controller     hardware.Controller
	networks       []NetworkAdapter
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
	v.firmware = strings.ToLower(c.Firmware)
	switch v.firmware {
	case "":
		v.firmware = DefaultFirmware
	case FirmwareEFISecure:
		v.firmware, v.secureBoot = FirmwareEFI, true
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
	v.hwVersion, _ = hardware.ParseVersion(hw)
	v.controllerName = strings.ToLower(c.DiskController())
	if v.controllerName == "" {
		v.controllerName = DefaultDiskController
	}
	v.controller, _ = lookupDiskController(v.controllerName)
	if len(c.Networks) == 0 {
		v.networks = []NetworkAdapter{{}}
	} else {
		v.networks = append([]NetworkAdapter(nil), c.Networks...)
	}
	for i := range v.networks {
		n := &v.networks[i]
		if n.Network == "" {
			n.Network = DefaultNetworkName
		}
		n.NetworkCard = strings.ToLower(n.NetworkCard)
		if n.NetworkCard == "" {
			n.NetworkCard = DefaultAdapter
		}
		if mac, err := normalizeMAC(n.MACAddress); err == nil {
			n.MACAddress = mac
		}
	}
	return v
}

// minHardwareVersion returns the lowest hardware version the VM's devices
// and firmware settings need, and what needs it.
func (v vm) minHardwareVersion() (int, string) {
	version, what := v.controller.MinVersion, fmt.Sprintf("disk_controller_type %q (%s)", v.controllerName, v.controller.What)
	need := func(n int, w string) {
		if n > version {
			version, what = n, w
		}
	}
	for i, n := range v.networks {
		a, _ := hardware.LookupNIC(n.NetworkCard)
		need(a.MinVersion, fmt.Sprintf("network_adapters[%d] network_card %q (%s)", i, n.NetworkCard, a.What))
	}
	if v.firmware == FirmwareEFI {
		need(hardware.MinVersionEFI, `firmware "efi"`)
	}
	if v.secureBoot {
		need(hardware.MinVersionSecureBoot, `firmware "efi-secure" (UEFI Secure Boot)`)
	}
	return version, what
}

// checkHardwareVersion refuses a version below what a device or firmware
// setting of the VM needs, naming the highest such need.
func (v vm) checkHardwareVersion(hw int) error {
	if need, what := v.minHardwareVersion(); need > hw {
		return fmt.Errorf("%s is below %s, which %s needs; use %s or later", hardware.FormatVersion(hw), hardware.FormatVersion(need), what, hardware.FormatVersion(need))
	}
	return nil
}
