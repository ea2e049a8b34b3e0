//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"github.com/ovakit/packer-plugin-vsphere-ova/builder/buildsteps"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// SourceConfig is the OVA or OVF the build starts from (step_open_source.go).
type SourceConfig struct {
	// The OVA or OVF to build from: a local `.ova` or `.ovf` path, or an
	// `http://` / `https://` URL of an `.ova`. A local OVA is streamed into
	// vSphere straight from the tar archive, without an extracted copy; a URL
	// is downloaded once into a temporary file that is removed at the end.
	SourcePath string `mapstructure:"source_path" required:"true"`
	// Checksum of the file at `source_path`, checked before anything is
	// created: `<algorithm>:<hex>` (`sha256`, `sha512`, `sha1`, `md5`), or
	// `file:<path>` to a `sha256sum`-style file that lists the source's base
	// name. Leave empty to skip (the OVA's own manifest is still verified).
	SourceChecksum string `mapstructure:"source_checksum"`
}

// Prepare checks the section; a local source must exist now.
func (c *SourceConfig) Prepare() []error {
	return ovasource.Check(ovasource.Options{Path: c.SourcePath, Checksum: c.SourceChecksum})
}

// openStep is the step that opens this source.
func (c *SourceConfig) openStep() *buildsteps.StepOpenSource {
	return &buildsteps.StepOpenSource{Path: c.SourcePath, Checksum: c.SourceChecksum}
}
