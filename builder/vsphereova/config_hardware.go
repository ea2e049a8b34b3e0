//go:generate packer-sdc struct-markdown

package vsphereova

import "github.com/ovakit/packer-plugin-vsphere-ova/builder/common"

// HardwareConfig changes the imported VM before its first boot
// (step_hardware.go): the hardware both builders change
// (common.HardwareConfig) and VMX options.
type HardwareConfig struct {
	common.HardwareConfig `mapstructure:",squash"`
	// Extra configuration parameters (VMX options) applied before first boot,
	// such as `guestinfo.*` keys read by cloud-init or VMware Tools.
	ConfigParams map[string]string `mapstructure:"configuration_parameters"`
}
