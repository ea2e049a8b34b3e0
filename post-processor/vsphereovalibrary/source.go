package vsphereovalibrary

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// pkg is the OVF package to publish: the descriptor first, then the files
// it references, each read straight from the OVA (or the OVF's folder) and
// checked against the package's manifest while it is read.
type pkg struct {
	path  string // the .ova or .ovf
	name  string // default item name
	files []vsphere.LibraryFile
	close func() error
}

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

// openPackage opens the OVA or OVF at path.
func openPackage(path string) (*pkg, error) {
	if strings.EqualFold(filepath.Ext(path), ".ova") {
		return openOVA(path)
	}
	return openOVF(path)
}

func openOVA(path string) (*pkg, error) {
	a, err := ova.OpenArchive(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	d, err := a.Descriptor()
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	mf, _ := a.Manifest()
	sizes := map[string]int64{}
	for _, m := range a.Members() {
		sizes[m.Name] = m.Size
	}
	p := &pkg{path: path, name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), close: a.Close}
	names := []string{a.DescriptorName()}
	for _, f := range d.Files() {
		names = append(names, f.Href)
	}
	for _, name := range names {
		size, ok := sizes[name]
		if !ok {
			a.Close()
			return nil, fmt.Errorf("%s: the descriptor references %s, which the OVA does not hold", path, name)
		}
		lf := vsphere.LibraryFile{Name: name, Size: size, Open: func() (io.ReadCloser, error) {
			rc, _, err := a.Open(name) // verifies the manifest digest at the end
			return rc, err
		}}
		if e, ok := mf.Lookup(name); ok {
			lf.Algorithm, lf.Digest = e.Algorithm, e.Digest
		}
		p.files = append(p.files, lf)
	}
	return p, nil
}

func openOVF(path string) (*pkg, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d, err := ovf.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var mf *ovf.Manifest
	if b, err := os.ReadFile(filepath.Join(dir, base+".mf")); err == nil {
		if mf, err = ovf.ParseManifest(b); err != nil {
			return nil, fmt.Errorf("%s.mf: %w", base, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	p := &pkg{path: path, name: base, close: func() error { return nil }}
	names := []string{filepath.Base(path)}
	for _, f := range d.Files() {
		if err := ovf.CheckHref(f.Href); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		names = append(names, f.Href)
	}
	for _, name := range names {
		file := filepath.Join(dir, name)
		fi, err := os.Stat(file)
		if err != nil {
			return nil, fmt.Errorf("%s references %s: %w", path, name, err)
		}
		lf := vsphere.LibraryFile{Name: name, Size: fi.Size()}
		e, listed := mf.Lookup(name)
		if listed {
			lf.Algorithm, lf.Digest = e.Algorithm, e.Digest
		}
		lf.Open = func() (io.ReadCloser, error) {
			f, err := os.Open(file)
			if err != nil || !listed {
				return f, err
			}
			return ovf.VerifyReader(f, e, base+".mf")
		}
		p.files = append(p.files, lf)
	}
	return p, nil
}
