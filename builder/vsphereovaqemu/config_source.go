//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"net/url"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/buildsteps"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// SourceConfig is the OVA or OVF the build starts from (step_open_source.go,
// step_decode_disks.go).
type SourceConfig struct {
	// The OVA or OVF to build from: a local `.ova` or `.ovf` path, or an
	// `http://` / `https://` URL of an `.ova`. Disks are decoded straight out
	// of a local OVA into the build's working copies, without an extracted
	// copy of the OVA; a URL is downloaded once into a temporary file that is
	// removed at the end. The OVA's manifest is verified as each file is read.
	SourcePath string `mapstructure:"source_path" required:"true"`
	// Checksum of the file at `source_path`, checked before anything else:
	// `<algorithm>:<hex>` (`sha256`, `sha512`, `sha1`, `md5`), or
	// `file:<path>` to a `sha256sum`-style file that lists the source's base
	// name. Leave empty to skip (the OVA's own manifest is still verified).
	SourceChecksum string `mapstructure:"source_checksum"`
}

// Prepare checks the section; a local source must exist now. A malformed
// URL is not quoted in the message: URLs may carry tokens (see redact).
func (c *SourceConfig) Prepare() []error {
	return ovasource.Check(ovasource.Options{Path: c.SourcePath, Checksum: c.SourceChecksum}, false)
}

// openStep is the step that opens this source; messages show the path
// redacted.
func (c *SourceConfig) openStep() *buildsteps.StepOpenSource {
	return &buildsteps.StepOpenSource{Path: c.SourcePath, Checksum: c.SourceChecksum, Show: redact}
}

// redact drops a URL's user info and query (which often carry tokens) for
// messages.
func redact(p string) string {
	if !ovasource.IsURL(p) {
		return p
	}
	u, err := url.Parse(p)
	if err != nil {
		return "<source URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "<redacted>"
	}
	return u.String()
}
