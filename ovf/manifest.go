package ovf

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"regexp"
	"strings"
)

// ManifestEntry is one manifest line: Algorithm(Name)= Digest.
type ManifestEntry struct {
	Algorithm string // lowercase: "sha1", "sha256", "sha512"
	Name      string
	Digest    string // lowercase hex
}

// Manifest is an OVF manifest (.mf).
type Manifest struct {
	Entries []ManifestEntry
}

// ovftool writes "SHA256(name)= hex"; other tools (and OVF 2 examples)
// "SHA256 (name) = hex". The name is greedy up to the last ")" before "=",
// so names containing parentheses survive.
var manifestLine = regexp.MustCompile(`^\s*([A-Za-z0-9-]+)\s*\((.*)\)\s*=\s*([0-9A-Fa-f]+)\s*$`)

// NewHash returns the hash for a manifest/checksum algorithm name.
func NewHash(algorithm string) (hash.Hash, error) {
	switch strings.ToLower(algorithm) {
	case "sha1":
		return sha1.New(), nil
	case "sha256":
		return sha256.New(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("unsupported digest algorithm %q: use \"sha256\", \"sha512\" or \"sha1\"", algorithm)
}

func digestLen(algorithm string) int {
	switch algorithm {
	case "sha1":
		return sha1.Size * 2
	case "sha256":
		return sha256.Size * 2
	case "sha512":
		return sha512.Size * 2
	}
	return 0
}

// ParseManifest reads a .mf. It accepts both spacing styles, CRLF line ends
// and hex digits of either case; blank lines are ignored.
func ParseManifest(data []byte) (*Manifest, error) {
	m := &Manifest{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		sub := manifestLine.FindSubmatch(line)
		if sub == nil {
			return nil, fmt.Errorf("manifest line %d %q: want \"SHA256(file name)= hex digest\"", i+1, truncate(string(line), 120))
		}
		alg := strings.ToLower(string(sub[1]))
		want := digestLen(alg)
		if want == 0 {
			return nil, fmt.Errorf("manifest line %d: unsupported algorithm %q; use SHA1, SHA256 or SHA512", i+1, sub[1])
		}
		if len(sub[3]) != want {
			return nil, fmt.Errorf("manifest line %d: %s digest for %q has %d hex digits, want %d", i+1, sub[1], sub[2], len(sub[3]), want)
		}
		m.Entries = append(m.Entries, ManifestEntry{
			Algorithm: alg,
			Name:      string(sub[2]),
			Digest:    strings.ToLower(string(sub[3])),
		})
	}
	return m, nil
}

// Lookup returns the first entry for name.
func (m *Manifest) Lookup(name string) (ManifestEntry, bool) {
	if m == nil {
		return ManifestEntry{}, false
	}
	for _, e := range m.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return ManifestEntry{}, false
}

// Bytes renders the manifest in ovftool's format, one LF-terminated line per
// entry, in order.
func (m *Manifest) Bytes() []byte {
	var b bytes.Buffer
	for _, e := range m.Entries {
		fmt.Fprintf(&b, "%s(%s)= %s\n", strings.ToUpper(e.Algorithm), e.Name, strings.ToLower(e.Digest))
	}
	return b.Bytes()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
