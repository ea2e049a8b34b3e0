//go:generate packer-sdc struct-markdown

package common

import "fmt"

// HardwareConfig is the virtual hardware both builders change, with
// `vsphere-clone`'s option names; each builder squashes it into its own
// section beside what only its hypervisor has. Every zero value keeps the
// OVF's.
type HardwareConfig struct {
	// Number of virtual CPUs. 0 keeps the OVF's value.
	CPUs int `mapstructure:"CPUs"`
	// Number of cores per CPU socket. 0 keeps the OVF's value.
	CpuCores int `mapstructure:"cpu_cores"`
	// Memory in MiB. 0 keeps the OVF's value.
	RAM int64 `mapstructure:"RAM"`
	// New size in MiB of the first disk (as in `vsphere-clone`). Disks only
	// grow: a size smaller than the disk is an error. 0 keeps the size.
	DiskSize int64 `mapstructure:"disk_size"`
	// New sizes in MiB per disk, in the order of the VM's disks; 0 keeps a
	// disk's size. Overrides `disk_size` for the first disk when both are set.
	DiskSizes []int64 `mapstructure:"disk_sizes"`
}

// Prepare checks the section; the messages name the options.
func (c *HardwareConfig) Prepare() []error {
	var errs []error
	if c.CPUs < 0 || c.CpuCores < 0 || c.RAM < 0 || c.DiskSize < 0 {
		errs = append(errs, fmt.Errorf("CPUs (%d), cpu_cores (%d), RAM (%d) and disk_size (%d) must not be negative", c.CPUs, c.CpuCores, c.RAM, c.DiskSize))
	}
	// Both builders' exports run on vSphere, which needs whole sockets.
	if c.CPUs > 0 && c.CpuCores > 0 && c.CPUs%c.CpuCores != 0 {
		errs = append(errs, fmt.Errorf("CPUs = %d is not a multiple of cpu_cores = %d: vSphere needs whole sockets", c.CPUs, c.CpuCores))
	}
	for i, s := range c.DiskSizes {
		if s < 0 {
			errs = append(errs, fmt.Errorf("disk_sizes[%d] = %d: must not be negative", i, s))
		}
	}
	return errs
}

// WantedDiskSizes is the wanted size in MiB per disk index (0: keep):
// disk_sizes, with disk_size filling in for the first disk when disk_sizes
// leaves it out.
func (c *HardwareConfig) WantedDiskSizes() []int64 {
	sizes := append([]int64(nil), c.DiskSizes...)
	if c.DiskSize > 0 {
		if len(sizes) == 0 {
			sizes = []int64{c.DiskSize}
		} else if sizes[0] == 0 {
			sizes[0] = c.DiskSize
		}
	}
	return sizes
}

// DiskSizeMiB is the wanted size in MiB of disk i (0: keep).
func (c *HardwareConfig) DiskSizeMiB(i int) int64 {
	if sizes := c.WantedDiskSizes(); i < len(sizes) {
		return sizes[i]
	}
	return 0
}
