// Package ovf reads and faithfully edits OVF descriptors (Document, Editor,
// Descriptor), reads and writes manifests (.mf) and signs them (.cert).
// Edits rewrite only the bytes they change, so prefixes, comments and
// vendor sections survive. It has no Packer imports so the post-processor
// and the builder share it.
package ovf

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckHref rejects anything but a plain file name that sits beside the
// descriptor. OVAs and exports are flat; any path syntax would let a crafted
// descriptor read or write outside the export folder.
func CheckHref(href string) error {
	const fix = "references must be plain file names (like \"disk-0.vmdk\") of files in the same folder as the .ovf"
	switch {
	case href == "":
		return fmt.Errorf("empty href: %s", fix)
	case href == "." || href == "..":
		return fmt.Errorf("href %q names a directory: %s", href, fix)
	case !utf8.ValidString(href):
		return fmt.Errorf("href %q is not valid UTF-8: %s", href, fix)
	}
	for _, r := range href {
		if r == 0 || unicode.IsControl(r) {
			return fmt.Errorf("href %q contains a control character (%U): %s", href, r, fix)
		}
	}
	if len(href) >= 2 && href[1] == ':' && isASCIILetter(href[0]) {
		return fmt.Errorf("href %q is a Windows drive path: %s", href, fix)
	}
	if i := strings.IndexByte(href, ':'); i > 0 && isScheme(href[:i]) {
		return fmt.Errorf("href %q is a URL (scheme %q); remote or absolute references are not supported: %s", href, href[:i], fix)
	}
	if strings.ContainsAny(href, `/\`) {
		return fmt.Errorf("href %q contains a path separator: %s", href, fix)
	}
	return nil
}

// isScheme reports whether s is a URI scheme per RFC 3986:
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(s string) bool {
	if s == "" || !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isASCIILetter(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
