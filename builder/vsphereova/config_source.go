//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

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
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case c.SourcePath == "":
		add("source_path is required: a local .ova/.ovf file or an http(s) URL of an .ova")
	case isURL(c.SourcePath):
		if u, err := url.Parse(c.SourcePath); err != nil || u.Host == "" {
			add("source_path %q is not a valid URL", c.SourcePath)
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

func isURL(s string) bool { return ovasource.IsURL(s) }
