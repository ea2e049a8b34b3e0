//go:generate packer-sdc struct-markdown

package vsphereova

import "github.com/ovakit/packer-plugin-vsphere-ova/internal/vmhardware"

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
	return vmhardware.Check(int64(c.CPUs), int64(c.CpuCores), c.RAM, c.DiskSize, c.DiskSizes)
}

// diskSizes is the wanted size in MiB per disk index (0: keep).
func (c *HardwareConfig) diskSizes() []int64 { return vmhardware.DiskSizes(c.DiskSize, c.DiskSizes) }
