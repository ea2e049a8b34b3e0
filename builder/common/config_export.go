//go:generate packer-sdc struct-markdown

package common

import (
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
)

// ExportConfig is what every builder's `export {}` block takes: an OVF, its
// disks and a manifest in one folder (internal/exportdir), which the
// `vsphere-ova` post-processor packs, or with `output_format = "ova"` one
// OVA written straight from the export (export_ova.go). Each builder
// squashes it into its own block beside the options only it has.
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
	// What the export writes: `ovf` (default), the folder of `<name>.ovf`,
	// its disks and `<name>.mf`; or `ova`, one `<name>.ova` in
	// `output_directory` (and its checksum file `<name>.ova.sha256`), the
	// disks streamed straight into it, each byte written once: no export
	// folder and no packing step. The OVA holds `<name>.ovf` first, then
	// `<name>.mf` (when `manifest` is not `none`), then the disks and other
	// files (NVRAM, ...) as the descriptor references them, as plain USTAR
	// members. The checksum file takes one more sequential read of the
	// finished OVA, since its first members are written last. Both
	// post-processors (`vsphere-ova`, to re-target it, and
	// `vsphere-ova-library`) take the OVA as input.
	OutputFormat string `mapstructure:"output_format"`
	// Digest algorithm of the checksum file written beside the OVA with
	// `output_format = "ova"` (`<name>.ova.sha256` or `.sha512`, in
	// `sha256sum -c` format): `sha256` (default), `sha512`, or `none` to
	// write none (and skip its read of the OVA).
	ChecksumAlgorithm string `mapstructure:"checksum_algorithm"`
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
	errs := append(exportdir.CheckManifest(e.Manifest), exportdir.CheckFolder(e.Name, e.OutputDir, e.Force)...)
	return append(errs, e.checkFormat()...)
}

// The values of output_format.
const (
	FormatOVF = "ovf"
	FormatOVA = "ova"
)

// checkFormat checks output_format and checksum_algorithm and sets their
// defaults.
func (e *ExportConfig) checkFormat() []error {
	var errs []error
	switch e.OutputFormat {
	case "":
		e.OutputFormat = FormatOVF
	case FormatOVF, FormatOVA:
	default:
		errs = append(errs, fmt.Errorf("export.output_format %q: expected \"ovf\" (a folder of .ovf, .mf and disks, the default) or \"ova\" (one .ova file)", e.OutputFormat))
	}
	switch e.ChecksumAlgorithm {
	case "":
		if e.OutputFormat == FormatOVA {
			e.ChecksumAlgorithm = "sha256"
		}
	case "sha256", "sha512", "none":
		if e.OutputFormat != FormatOVA {
			errs = append(errs, fmt.Errorf("export.checksum_algorithm is only used with output_format = \"ova\" (an OVF folder has its manifest): remove it or set output_format = \"ova\""))
		}
	default:
		errs = append(errs, fmt.Errorf("export.checksum_algorithm %q: expected sha256, sha512 or none", e.ChecksumAlgorithm))
	}
	return errs
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
