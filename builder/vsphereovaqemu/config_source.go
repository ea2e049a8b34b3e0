//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

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

// Prepare checks the section; a local source must exist now.
func (c *SourceConfig) Prepare() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case c.SourcePath == "":
		add("source_path is required: a local .ova/.ovf file or an http(s) URL of an .ova")
	case ovasource.IsURL(c.SourcePath):
		if u, err := url.Parse(c.SourcePath); err != nil || u.Host == "" {
			add("source_path is not a valid URL")
		}
	default:
		ext := strings.ToLower(filepath.Ext(c.SourcePath))
		if ext != ".ova" && ext != ".ovf" {
			add("source_path %q: expected a file ending in .ova or .ovf", c.SourcePath)
		} else if st, err := os.Stat(c.SourcePath); err != nil {
			add("source_path: %v", err)
		} else if st.IsDir() {
			add("source_path %q is a folder: point it at the .ovf file inside", c.SourcePath)
		}
	}
	if err := ovasource.CheckChecksumSpec(c.SourceChecksum); err != nil {
		errs = append(errs, err)
	}
	return errs
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
