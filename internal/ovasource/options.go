package ovasource

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Check says what is wrong with a builder's source_path and source_checksum
// options, before anything is opened: the path is an http(s) URL, or a local
// .ova or .ovf file that exists now; the checksum is one CheckChecksumSpec
// accepts. A URL appears in messages only as Redact shows it.
func Check(o Options) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch p := o.Path; {
	case p == "":
		add("source_path is required: a local .ova/.ovf file or an http(s) URL of an .ova")
	case IsURL(p):
		if u, err := url.Parse(p); err != nil || u.Host == "" {
			add("source_path %s is not a valid URL: give scheme, host and path, e.g. https://host/base.ova", Redact(p))
		}
	default:
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".ova" && ext != ".ovf" {
			add("source_path %q: expected a file ending in .ova or .ovf", p)
		} else if st, err := os.Stat(p); err != nil {
			add("source_path: %v", err)
		} else if st.IsDir() {
			add("source_path %q is a folder: point it at the .ovf file inside", p)
		}
	}
	if err := CheckChecksumSpec(o.Checksum); err != nil {
		errs = append(errs, err)
	}
	return errs
}
