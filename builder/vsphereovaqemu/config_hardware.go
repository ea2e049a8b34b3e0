//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/vmhardware"
)

// HardwareConfig overrides the machine the OVF describes (ovf_machine.go);
// every zero value keeps the OVF's. The export carries the overrides, so the
// OVA runs on vSphere with the hardware it was built with.
type HardwareConfig struct {
	// Number of virtual CPUs. 0 keeps the OVF's value.
	CPUs int `mapstructure:"CPUs"`
	// Number of cores per CPU socket. 0 keeps the OVF's value.
	CpuCores int `mapstructure:"cpu_cores"`
	// Memory in MiB. 0 keeps the OVF's value.
	RAM int64 `mapstructure:"RAM"`
	// New size in MiB of the first disk. Disks only grow: a size smaller
	// than the disk is an error. 0 keeps the size.
	DiskSize int64 `mapstructure:"disk_size"`
	// New sizes in MiB per disk, in the OVF's disk order; 0 keeps a disk's
	// size. Overrides `disk_size` for the first disk when both are set.
	DiskSizes []int64 `mapstructure:"disk_sizes"`
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
	errs := vmhardware.Check(int64(c.CPUs), int64(c.CpuCores), c.RAM, c.DiskSize, c.DiskSizes)
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

// diskSizeMiB is the wanted size in MiB of disk i (0: keep).
func (c *HardwareConfig) diskSizeMiB(i int) int64 {
	if sizes := vmhardware.DiskSizes(c.DiskSize, c.DiskSizes); i < len(sizes) {
		return sizes[i]
	}
	return 0
}
