//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"errors"
	"fmt"
	"os"
	"strings"
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
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if e.Manifest == "" {
		e.Manifest = "sha256"
	}
	switch e.Manifest {
	case "none", "sha1", "sha256", "sha512":
	default:
		add("export.manifest %q: expected none, sha1, sha256 or sha512", e.Manifest)
	}
	if e.CompressionLevel < 0 || e.CompressionLevel > 9 {
		add("export.compression_level %d: expected 1 to 9 (0 for the default)", e.CompressionLevel)
	}
	if e.Name == "" {
		errs = append(errs, errors.New("export.name is required"))
	} else if strings.ContainsAny(e.Name, `/\`) {
		add("export.name %q must be a file name, not a path", e.Name)
	}
	if e.OutputDir == "" {
		errs = append(errs, errors.New("export.output_directory is required"))
	} else if st, err := os.Stat(e.OutputDir); err == nil && !e.Force {
		if !st.IsDir() {
			add("export.output_directory %q exists and is not a folder", e.OutputDir)
		} else if ents, _ := os.ReadDir(e.OutputDir); len(ents) > 0 {
			add("export.output_directory %q exists and is not empty: remove it, or set export.force = true (or run packer build -force)", e.OutputDir)
		}
	}
	return errs
}
