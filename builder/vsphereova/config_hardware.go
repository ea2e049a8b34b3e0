//go:generate packer-sdc struct-markdown

package vsphereova

import "fmt"

// HardwareConfig changes the imported VM before its first boot
// (step_hardware.go).
type HardwareConfig struct {
	// Number of virtual CPUs. 0 keeps the OVF's value.
	CPUs int32 `mapstructure:"CPUs"`
	// Number of cores per CPU socket. 0 keeps the OVF's value.
	CpuCores int32 `mapstructure:"cpu_cores"`
	// Memory in MiB. 0 keeps the OVF's value.
	RAM int64 `mapstructure:"RAM"`
	// New size in MiB of the first disk (as in `vsphere-clone`). Disks only
	// grow: a size smaller than the disk is an error. 0 keeps the size.
	DiskSize int64 `mapstructure:"disk_size"`
	// New sizes in MiB per disk, in the order of the VM's disks; 0 keeps a
	// disk's size. Overrides `disk_size` for the first disk when both are set.
	DiskSizes []int64 `mapstructure:"disk_sizes"`
	// Extra configuration parameters (VMX options) applied before first boot,
	// such as `guestinfo.*` keys read by cloud-init or VMware Tools.
	ConfigParams map[string]string `mapstructure:"configuration_parameters"`
}

// Prepare checks the section.
func (c *HardwareConfig) Prepare() []error {
	var errs []error
	if c.CPUs < 0 || c.CpuCores < 0 || c.RAM < 0 || c.DiskSize < 0 {
		errs = append(errs, fmt.Errorf("CPUs (%d), cpu_cores (%d), RAM (%d) and disk_size (%d) must not be negative", c.CPUs, c.CpuCores, c.RAM, c.DiskSize))
	}
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

// diskSizes is the wanted size in MiB per disk index (0: keep), disk_size
// filling in for the first disk when disk_sizes leaves it out.
func (c *HardwareConfig) diskSizes() []int64 {
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
