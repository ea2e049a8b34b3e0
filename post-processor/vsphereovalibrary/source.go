package vsphereovalibrary

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// pickInput chooses the artifact file to publish: the first .ova (the
// vsphere-ova post-processor lists its first target's OVA first), else the
// first .ovf. skipped lists other OVAs it left out.
func pickInput(files []string) (path string, skipped []string, err error) {
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f), ".ova") {
			if path == "" {
				path = f
			} else {
				skipped = append(skipped, f)
			}
		}
	}
	if path != "" {
		return path, skipped, nil
	}
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f), ".ovf") {
			return f, nil, nil
		}
	}
	return "", nil, fmt.Errorf("the input artifact has no .ova or .ovf file (files: %s): put post-processor \"vsphere-ova\" (or an export {} block) before this one", strings.Join(files, ", "))
}

// openPackage opens the OVA or OVF at path as the builders open their
// source (internal/ovasource: the OVA read in place, every reference and the
// manifest checked) and lists the OVF package to publish: the descriptor
// first, then the files it references, each with its manifest digest and
// checked against it while read.
func openPackage(ctx context.Context, path string) (*ovasource.Source, []vsphere.LibraryFile, error) {
	src, err := ovasource.Open(ctx, ovasource.Options{Path: path, Option: "the input artifact's file"})
	if err != nil {
		return nil, nil, err
	}
	// The descriptor was read and checked against the manifest by Open.
	desc := vsphere.LibraryFile{Name: src.OVFName, Size: int64(len(src.Descriptor)), Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(src.Descriptor)), nil
	}}
	files := []vsphere.LibraryFile{withDigest(src, desc)}
	for _, ref := range src.Envelope.References {
		size, err := src.Stat(ref.Href)
		if err != nil {
			src.Close()
			return nil, nil, err
		}
		files = append(files, withDigest(src, vsphere.LibraryFile{Name: ref.Href, Size: size, Open: func() (io.ReadCloser, error) {
			rc, _, err := src.OpenFile(ref.Href)
			return rc, err
		}}))
	}
	return src, files, nil
}

// withDigest adds the file's manifest digest, when the package has one.
func withDigest(src *ovasource.Source, f vsphere.LibraryFile) vsphere.LibraryFile {
	if e, ok := src.Manifest.Lookup(f.Name); ok {
		f.Algorithm, f.Digest = e.Algorithm, e.Digest
	}
	return f
}
