//go:generate packer-sdc struct-markdown

package common

import (
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
)

// ExportConfig is what every builder's `export {}` block takes: an OVF, its
// disks and a manifest in one folder (internal/exportdir), which the
// `vsphere-ova` post-processor packs. Each builder squashes it into its own
// block beside the options only it has.
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
}

// SetDefaults fills what derives from the build: the VM's name, the build's
// name and `packer build -force`.
func (e *ExportConfig) SetDefaults(vmName, buildName string, force bool) {
	if e.Name == "" {
		e.Name = vmName
	}
	if e.OutputDir == "" {
		e.OutputDir = "output-" + buildName
	}
	e.Force = e.Force || force
}

// Prepare sets the manifest's default and checks the block; Name and
// OutputDir have theirs (SetDefaults) by now.
func (e *ExportConfig) Prepare() []error {
	if e.Manifest == "" {
		e.Manifest = exportdir.DefaultManifest
	}
	return append(exportdir.CheckManifest(e.Manifest), exportdir.CheckFolder(e.Name, e.OutputDir, e.Force)...)
}

// OpenFolder opens the export folder (creating it when missing) and says
// what it removed that an interrupted run had left there.
func (e *ExportConfig) OpenFolder(say func(string)) (*exportdir.Dir, error) {
	dir, err := exportdir.Open(e.OutputDir, e.Manifest)
	if err != nil {
		return nil, fmt.Errorf("creating export.output_directory: %w", err)
	}
	for _, r := range dir.Stale {
		say(fmt.Sprintf("Removed %s, left in the export folder by an interrupted run", r))
	}
	return dir, nil
}
