//go:generate packer-sdc struct-markdown

package vsphereova

import "github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"

// ExportConfig is the `export {}` block (step_export.go). Its shape (name,
// output_directory, manifest, force) is what any builder of this plugin
// writes: an OVF, its disks and a manifest in one folder.
type ExportConfig struct {
	// Name of the exported OVF, without extension. Defaults to `vm_name`.
	Name string `mapstructure:"name"`
	// Overwrite files in an existing `output_directory`. Defaults to `false`
	// (`packer build -force` also sets it).
	Force bool `mapstructure:"force"`
	// Also export ISO/floppy images attached to the VM. Defaults to `false`.
	Images bool `mapstructure:"images"`
	// Also export the VM's NVRAM file (UEFI variables), when vSphere offers it
	// in the export lease. Defaults to `false`.
	NVRAM bool `mapstructure:"nvram"`
	// Manifest algorithm: `none`, `sha1`, `sha256` or `sha512`. Defaults to
	// `sha256`. The digests are computed while the files download.
	Manifest string `mapstructure:"manifest"`
	// Folder the OVF, manifest and disks are written to. Defaults to
	// `output-<build name>`.
	OutputDir string `mapstructure:"output_directory"`
	// Advanced export flags passed to the OVF manager (for example `nodevicesubtypes`).
	Options []string `mapstructure:"options"`
}

// Prepare checks the block. Name and OutputDir have their defaults (from
// vm_name and the build name) by now.
func (e *ExportConfig) Prepare() []error {
	if e.Manifest == "" {
		e.Manifest = exportdir.DefaultManifest
	}
	return append(exportdir.CheckManifest(e.Manifest), exportdir.CheckFolder(e.Name, e.OutputDir, e.Force)...)
}
