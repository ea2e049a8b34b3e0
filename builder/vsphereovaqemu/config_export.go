//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
)

// ExportConfig is the `export {}` block (step_export.go), with the
// `vsphere-ova` builder's option names (common.ExportConfig) and the disks'
// compression level.
type ExportConfig struct {
	common.ExportConfig `mapstructure:",squash"`
	// DEFLATE level of the exported disks, 1 (fastest) to 9 (smallest).
	// Defaults to 8; 1 is much faster under a CPU-bound build.
	CompressionLevel int `mapstructure:"compression_level"`
}

// Prepare checks the block after SetDefaults.
func (e *ExportConfig) Prepare() []error {
	errs := e.ExportConfig.Prepare()
	if e.CompressionLevel < 0 || e.CompressionLevel > 9 {
		errs = append(errs, fmt.Errorf("export.compression_level %d: expected 1 to 9 (0 for the default)", e.CompressionLevel))
	}
	return errs
}
