//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
)

// ExportConfig is the `export {}` block (step_export.go), with the
// `vsphere-ova` builder's option names: an OVF, its disks and a manifest in
// one folder, which the `vsphere-ova` post-processor packs.
type ExportConfig struct {
	// Name of the exported OVF (`<name>.ovf`, `<name>-disk-N.vmdk`,
	// `<name>.mf`), without extension. Defaults to `vm_name`.
	Name string `mapstructure:"name"`
	// Overwrite files in an existing `output_directory`. Defaults to `false`
	// (`packer build -force` also sets it).
	Force bool `mapstructure:"force"`
	// Manifest algorithm: `none`, `sha1`, `sha256` or `sha512`. Defaults to
	// `sha256`. The digests are computed while the files are written.
	Manifest string `mapstructure:"manifest"`
	// Folder the OVF, manifest and disks are written to. Defaults to
	// `output-<build name>`.
	OutputDir string `mapstructure:"output_directory"`
	// DEFLATE level of the exported disks, 1 (fastest) to 9 (smallest).
	// Defaults to 8; 1 is much faster under a CPU-bound build.
	CompressionLevel int `mapstructure:"compression_level"`
}

// Prepare checks the block. Name and OutputDir have their defaults by now.
func (e *ExportConfig) Prepare() []error {
	if e.Manifest == "" {
		e.Manifest = exportdir.DefaultManifest
	}
	errs := exportdir.CheckManifest(e.Manifest)
	if e.CompressionLevel < 0 || e.CompressionLevel > 9 {
		errs = append(errs, fmt.Errorf("export.compression_level %d: expected 1 to 9 (0 for the default)", e.CompressionLevel))
	}
	return append(errs, exportdir.CheckFolder(e.Name, e.OutputDir, e.Force)...)
}
