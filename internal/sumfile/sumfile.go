// Package sumfile reads and writes checksum files in the format of GNU
// coreutils' sha256sum/sha512sum ("<hex>  <name>" lines, '*' before the name
// in binary mode), as k3s releases publish and as `sha256sum -c` checks.
package sumfile

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
)

// Entry is one line of a checksum file.
type Entry struct {
	Digest string // lower-case hex
	Name   string
}

// File is a parsed checksum file.
type File struct{ Entries []Entry }

// Parse reads a checksum file. Blank lines and '#' comments are skipped; any
// other line that is not "<hex> <name>" is an error naming the line.
func Parse(data []byte) (*File, error) {
	f := &File{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		digest, name, ok := strings.Cut(line, " ")
		name = strings.TrimLeft(name, " ")
		name = strings.TrimPrefix(name, "*")
		if !ok || name == "" {
			return nil, fmt.Errorf("line %d: want \"<hex digest>  <file name>\", got %q", n, truncate(line, 80))
		}
		if _, err := hex.DecodeString(digest); err != nil || len(digest) < 32 {
			return nil, fmt.Errorf("line %d: %q is not a hex digest", n, truncate(digest, 80))
		}
		f.Entries = append(f.Entries, Entry{Digest: strings.ToLower(digest), Name: name})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Lookup returns the digest listed for name (compared as written, or by its
// base name when the file lists paths such as "./k3s" or "dist/k3s").
func (f *File) Lookup(name string) (string, bool) {
	for _, e := range f.Entries {
		if e.Name == name {
			return e.Digest, true
		}
	}
	for _, e := range f.Entries {
		if i := strings.LastIndex(e.Name, "/"); i >= 0 && e.Name[i+1:] == name {
			return e.Digest, true
		}
	}
	return "", false
}

// Line formats one entry as sha256sum writes it in text mode.
func Line(digest, name string) string { return digest + "  " + name + "\n" }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
