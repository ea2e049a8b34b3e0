//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/renamed"
)

// HardwareConfig overrides the machine the OVF describes (ovf_machine.go);
// every zero value keeps the OVF's. The export carries the overrides, so the
// OVA runs on vSphere with the hardware it was built with.
type HardwareConfig struct {
	common.HardwareConfig `mapstructure:",squash"`
	// Firmware, as vsphere-iso names it: `bios` (SeaBIOS), `efi` (OVMF,
	// from Debian's `ovmf` package, Secure Boot off) or `efi-secure` (OVMF
	// with Microsoft's keys enrolled, UEFI Secure Boot enforced). The build
	// boots with it and the export declares it. Empty keeps the OVF's
	// (`vmw:Config firmware` and `bootOptions.efiSecureBootEnabled`), else
	// bios.
	Firmware string `mapstructure:"firmware"`
	// Controller type per disk controller of the OVF, in the order the OVF
	// lists the controllers that hold disks: `pvscsi`, `lsilogic`,
	// `lsilogicsas`, `sata`, `nvme` or `ide`; "" keeps the OVF's. Only the
	// QEMU machine changes: the export keeps the OVF's controllers. Useful
	// because QEMU's LSI SAS model boots no Linux disk (see the docs).
	DiskControllerType []string `mapstructure:"disk_controller_type"`

	// Renamed (see internal/renamed): kept only so that Prepare names the
	// replacement.
	RenamedSecureBoot *string `mapstructure:"secure_boot" undocumented:"true"`
}

// firmwareEFISecure is vsphere-iso's value for EFI with Secure Boot.
const firmwareEFISecure = "efi-secure"

// firmwareSettings is the firmware (bios or efi) and Secure Boot the
// firmware option asks for; set is false when it is unset (keep the OVF's).
func (c *HardwareConfig) firmwareSettings() (firmware string, secureBoot, set bool) {
	switch c.Firmware {
	case "":
		return "", false, false
	case firmwareEFISecure:
		return "efi", true, true
	}
	return c.Firmware, false, true
}

// Prepare checks the section.
func (c *HardwareConfig) Prepare() []error {
	errs := c.HardwareConfig.Prepare()
	errs = append(errs, renamed.Refuse(renamed.Option{Old: "secure_boot", Set: renamed.IsSet(c.RenamedSecureBoot),
		New: `firmware = "efi-secure"`, From: "vsphere-iso", Hint: "firmware takes bios, efi or efi-secure"})...)
	switch c.Firmware {
	case "", "bios", "efi", firmwareEFISecure:
	default:
		errs = append(errs, fmt.Errorf("firmware %q: expected bios, efi or efi-secure", c.Firmware))
	}
	for i, t := range c.DiskControllerType {
		if t == "" {
			continue
		}
		if _, err := qemu.ParseController(t); err != nil {
			errs = append(errs, fmt.Errorf("disk_controller_type[%d]: %w", i, err))
		}
	}
	return errs
}
