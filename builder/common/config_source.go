//go:generate packer-sdc struct-markdown

package common

import (
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// SourceConfig is the OVA or OVF a build starts from (StepOpenSource).
type SourceConfig struct {
	// The OVA or OVF to build from: a local `.ova` or `.ovf` path, or an
	// `http://` / `https://` URL of an `.ova`. A local OVA is read straight
	// from the tar archive, without an extracted copy (streamed into vSphere
	// by `vsphere-ova`, its disks decoded into the build's working copies by
	// `vsphere-ova-qemu`). A URL is downloaded as Packer downloads
	// `iso_url`: into Packer's cache (`PACKER_CACHE_DIR`, by default
	// `~/.cache/packer`), with a progress bar, and kept there, so the next
	// build with the same `source_checksum` downloads nothing. The OVA's
	// manifest is verified as each file is read.
	SourcePath string `mapstructure:"source_path" required:"true"`
	// Checksum of the file at `source_path`, checked before anything else,
	// with the conventions of Packer's `iso_checksum`: `<algorithm>:<hex>`
	// (`sha256`, `sha512`, `sha1`, `md5`), `file:<path or URL>` of a
	// `sha256sum`-style file that lists the source's base name, or `none`.
	// Empty is `none` (the OVA's own manifest is still verified). Without a
	// checksum, a cached copy of a URL source is reused when it is as large
	// as the server's file (resumed when shorter), as Packer does for ISOs;
	// with one, only when it matches.
	SourceChecksum string `mapstructure:"source_checksum"`
}

// Prepare checks the section; a local source must exist now. A URL's
// secrets (user info, query values) are registered with Packer's secret
// filter here, before the build logs anything.
func (c *SourceConfig) Prepare() []error {
	if ovasource.IsURL(c.SourcePath) {
		packersdk.LogSecretFilter.Set(urlSecrets(c.SourcePath)...)
	}
	return ovasource.Check(ovasource.Options{Path: c.SourcePath, Checksum: c.SourceChecksum})
}

// OpenStep is the step that opens this source.
func (c *SourceConfig) OpenStep() *StepOpenSource {
	return &StepOpenSource{Path: c.SourcePath, Checksum: c.SourceChecksum}
}
