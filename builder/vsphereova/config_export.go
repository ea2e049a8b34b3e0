//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/renamed"
)

// ExportConfig is the `export {}` block (step_export.go): the options every
// builder's export takes (common.ExportConfig) and those of a vSphere export.
type ExportConfig struct {
	common.ExportConfig `mapstructure:",squash"`
	// Also export ISO/floppy images attached to the VM (the name
	// `vsphere-clone` uses). Defaults to `false`.
	ImageFiles bool `mapstructure:"image_files"`
	// Also export the VM's NVRAM file (UEFI variables), when vSphere offers it
	// in the export lease. Defaults to `false`.
	NVRAM bool `mapstructure:"nvram"`
	// Advanced export flags passed to the OVF manager (for example `nodevicesubtypes`).
	Options []string `mapstructure:"options"`

	// Renamed (see internal/renamed): kept only so that Prepare names the
	// replacement.
	RenamedImages *string `mapstructure:"images" undocumented:"true"`
}

// Prepare checks the block after SetDefaults.
func (e *ExportConfig) Prepare() []error {
	errs := renamed.Refuse(renamed.Option{Old: "export.images", Set: renamed.IsSet(e.RenamedImages),
		New: "export.image_files", From: "vsphere-clone"})
	return append(errs, e.ExportConfig.Prepare()...)
}
