//go:generate packer-sdc struct-markdown

package vsphereova

import "github.com/ovakit/packer-plugin-vsphere-ova/builder/common"

// ExportConfig is the `export {}` block (step_export.go): the options every
// builder's export takes (common.ExportConfig) and those of a vSphere export.
type ExportConfig struct {
	common.ExportConfig `mapstructure:",squash"`
	// Also export ISO/floppy images attached to the VM. Defaults to `false`.
	Images bool `mapstructure:"images"`
	// Also export the VM's NVRAM file (UEFI variables), when vSphere offers it
	// in the export lease. Defaults to `false`.
	NVRAM bool `mapstructure:"nvram"`
	// Advanced export flags passed to the OVF manager (for example `nodevicesubtypes`).
	Options []string `mapstructure:"options"`
}
