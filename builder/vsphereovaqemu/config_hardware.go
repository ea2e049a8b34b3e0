//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
)

// HardwareConfig overrides the machine the OVF describes (ovf_machine.go);
// every zero value keeps the OVF's. The export carries the overrides, so the
// OVA runs on vSphere with the hardware it was built with.
type HardwareConfig struct {
	common.HardwareConfig `mapstructure:",squash"`
	// Firmware: `bios` (SeaBIOS) or `efi` (OVMF, from Debian's `ovmf`
	// package). Empty keeps the OVF's (`vmw:Config firmware`), else bios.
	Firmware string `mapstructure:"firmware"`
	// Boot with UEFI Secure Boot enforced (OVMF with Microsoft's keys
	// enrolled); needs `firmware = "efi"`. Also set when the OVF asks for it
	// (`bootOptions.efiSecureBootEnabled`).
	SecureBoot bool `mapstructure:"secure_boot"`
	// Controller type per disk controller of the OVF, in the order the OVF
	// lists the controllers that hold disks: `pvscsi`, `lsilogic`,
	// `lsilogicsas`, `sata`, `nvme` or `ide`; "" keeps the OVF's. Only the
	// QEMU machine changes: the export keeps the OVF's controllers. Useful
	// because QEMU's LSI SAS model boots no Linux disk (see the docs).
	DiskControllerType []string `mapstructure:"disk_controller_type"`
}

// Prepare checks the section.
func (c *HardwareConfig) Prepare() []error {
	errs := c.HardwareConfig.Prepare()
	switch c.Firmware {
	case "", "bios", "efi":
	default:
		errs = append(errs, fmt.Errorf("firmware %q: expected bios or efi", c.Firmware))
	}
	if c.SecureBoot && c.Firmware == "bios" {
		errs = append(errs, fmt.Errorf("secure_boot needs firmware = \"efi\""))
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
