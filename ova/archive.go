package ova

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// Member is one regular file inside an OVA: its data is Size bytes at Offset.
type Member struct {
	Name         string
	Offset, Size int64
	ModTime      int64 // the tar header's mtime, Unix seconds
}

// Archive reads an OVA in place: members are indexed with one scan over the
// headers (data is skipped by seeking), and each is read as a section of the
// file, so disks stream out without extracting.
type Archive struct {
	r        io.ReaderAt
	closer   io.Closer
	path     string // set by OpenArchive
	members  []Member
	descName string
	mfName   string
	mf       *ovf.Manifest
}

// maxMetaSize bounds the descriptor and manifest read into memory.
const maxMetaSize = 64 << 20

// OpenArchive opens the OVA file at path.
func OpenArchive(p string) (*Archive, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening OVA: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening OVA: %w", err)
	}
	a, err := NewArchive(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	a.closer, a.path = f, p
	return a, nil
}

// NewArchive indexes the OVA in r (size bytes).
func NewArchive(r io.ReaderAt, size int64) (*Archive, error) {
	sr := io.NewSectionReader(r, 0, size)
	tr := tar.NewReader(sr)
	a := &Archive{r: r}
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading OVA (tar) headers after %d members: %w", len(a.members), err)
		}
		if h.Typeflag != tar.TypeReg && h.Typeflag != '\x00' {
			continue // directories and links carry no OVF content
		}
		// The tar reader has consumed exactly the header blocks, so the
		// section reader now sits at the member's data.
		off, err := sr.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, err
		}
		if off+h.Size > size {
			return nil, fmt.Errorf("OVA member %q (%d bytes at offset %d) runs past the end of the %d-byte file; the OVA is truncated", h.Name, h.Size, off, size)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if seen[name] {
			return nil, fmt.Errorf("OVA contains member %q twice", name)
		}
		seen[name] = true
		a.members = append(a.members, Member{Name: name, Offset: off, Size: h.Size, ModTime: h.ModTime.Unix()})
	}
	var names []string
	for _, m := range a.members {
		names = append(names, m.Name)
		if a.descName == "" && strings.EqualFold(path.Ext(m.Name), ".ovf") {
			a.descName = m.Name
		}
	}
	if a.descName == "" {
		return nil, fmt.Errorf("no .ovf descriptor in the OVA; it contains %q", names)
	}
	want := strings.TrimSuffix(a.descName, path.Ext(a.descName)) + ".mf"
	var mfs []string
	for _, m := range a.members {
		if strings.EqualFold(path.Ext(m.Name), ".mf") {
			mfs = append(mfs, m.Name)
		}
		if m.Name == want {
			a.mfName = want
		}
	}
	if a.mfName == "" && len(mfs) == 1 {
		a.mfName = mfs[0]
	}
	if a.mfName != "" {
		data, err := a.readAll(a.mfName, nil)
		if err != nil {
			return nil, err
		}
		if a.mf, err = ovf.ParseManifest(data); err != nil {
			return nil, fmt.Errorf("OVA manifest %s: %w", a.mfName, err)
		}
	}
	return a, nil
}

// Members lists the regular-file members in archive order.
func (a *Archive) Members() []Member { return append([]Member(nil), a.members...) }

// Names are the members' names, in archive order.
func (a *Archive) Names() []string {
	names := make([]string, len(a.members))
	for i, m := range a.members {
		names[i] = m.Name
	}
	return names
}

// DescriptorName is the name of the .ovf member.
func (a *Archive) DescriptorName() string { return a.descName }

// Path is the file OpenArchive opened; "" for NewArchive.
func (a *Archive) Path() string { return a.path }

// DescriptorBytes is the .ovf member as stored, verified against the
// manifest when listed.
func (a *Archive) DescriptorBytes() ([]byte, error) { return a.readAll(a.descName, a.mf) }

// Descriptor parses the .ovf member (verified against the manifest when listed).
func (a *Archive) Descriptor() (*ovf.Descriptor, error) {
	data, err := a.DescriptorBytes()
	if err != nil {
		return nil, err
	}
	d, err := ovf.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("OVA descriptor %s: %w", a.descName, err)
	}
	return d, nil
}

// Manifest returns the OVA's manifest, or nil, nil when it has none.
func (a *Archive) Manifest() (*ovf.Manifest, error) { return a.mf, nil }

// Open returns a reader of one member and its size. When the manifest lists
// the member, reading to the end verifies the digest: a mismatch is returned
// as an error in place of io.EOF.
func (a *Archive) Open(name string) (io.ReadCloser, int64, error) {
	return a.open(name, a.mf)
}

func (a *Archive) open(name string, mf *ovf.Manifest) (io.ReadCloser, int64, error) {
	for _, m := range a.members {
		if m.Name != name {
			continue
		}
		sr := io.NewSectionReader(a.r, m.Offset, m.Size)
		if e, ok := mf.Lookup(name); ok {
			rc, err := ovf.VerifyReader(io.NopCloser(sr), e, "the OVA's manifest")
			return rc, m.Size, err
		}
		return io.NopCloser(sr), m.Size, nil
	}
	return nil, 0, fmt.Errorf("no member %q in the OVA", name)
}

func (a *Archive) readAll(name string, mf *ovf.Manifest) ([]byte, error) {
	rc, size, err := a.open(name, mf)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if size > maxMetaSize {
		return nil, fmt.Errorf("OVA member %s is %d bytes; descriptors and manifests over %d bytes are not supported", name, size, maxMetaSize)
	}
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading OVA member %s: %w", name, err)
	}
	return data, nil
}

// Close releases the file opened by OpenArchive.
func (a *Archive) Close() error {
	if a.closer != nil {
		return a.closer.Close()
	}
	return nil
}
