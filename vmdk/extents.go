package vmdk

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A VMDK descriptor file (monolithicFlat, twoGbMaxExtentSparse/Flat, vmfs)
// describes the disk as extents laid end to end; multiExtent reads them as
// one disk.

type extentPart struct {
	start, size int64                                 // position in the virtual disk
	r           io.ReaderAt                           // nil for a ZERO extent
	next        func(off int64) (int64, int64, error) // data ranges, relative to the part
}

type multiExtent struct {
	parts []extentPart
	size  int64
}

// Extents is the disk a VMDK descriptor file describes (monolithicFlat,
// twoGbMaxExtentSparse/Flat, vmfs): its extents read end to end. It
// implements SparseReaderAt. Close it when done.
type Extents struct {
	multiExtent
	// CreateType is the descriptor's createType.
	CreateType string
	files      []*os.File
}

// Size is the virtual disk size in bytes.
func (x *Extents) Size() int64 { return x.size }

// Close closes the extent files.
func (x *Extents) Close() error {
	var first error
	for _, f := range x.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	x.files = nil
	return first
}

// OpenExtents opens the disk that the descriptor text, read from the file
// path, describes; extent files are named relative to path's folder.
func OpenExtents(path string, text []byte) (_ *Extents, err error) {
	x := &Extents{}
	defer func() {
		if err != nil {
			x.Close()
		}
	}()
	desc, err := ParseDescriptor(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	x.CreateType = desc.CreateType
	if desc.ParentCID != "" && desc.ParentCID != "ffffffff" {
		return nil, fmt.Errorf("%s is a delta disk (parentCID=%s) that needs its parent; consolidate it first", path, desc.ParentCID)
	}
	if len(desc.Extents) == 0 {
		return nil, fmt.Errorf("%s: the descriptor lists no extents", path)
	}
	if err := x.open(path, desc); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *Extents) open(path string, desc *Descriptor) error {
	dir := filepath.Dir(path)
	m := &x.multiExtent
	for i, e := range desc.Extents {
		p := extentPart{start: m.size, size: int64(e.Sectors) * SectorSize}
		where := fmt.Sprintf("%s: extent %d (%s %q)", path, i+1, e.Type, e.File)
		switch e.Type {
		case "ZERO":
			p.next = func(int64) (int64, int64, error) { return 0, 0, io.EOF }
		case "FLAT", "VMFS":
			ef, err := x.openExtentFile(dir, e.File, where)
			if err != nil {
				return err
			}
			fi, err := ef.Stat()
			if err != nil {
				return err
			}
			base := int64(e.Offset) * SectorSize
			if base+p.size > fi.Size() {
				return fmt.Errorf("%s: needs %d bytes from offset %d but the file has %d", where, p.size, base, fi.Size())
			}
			p.r = io.NewSectionReader(ef, base, p.size)
			p.next = shifted(dataRanges(ef, base+p.size), base)
		case "SPARSE":
			ef, err := x.openExtentFile(dir, e.File, where)
			if err != nil {
				return err
			}
			fi, err := ef.Stat()
			if err != nil {
				return err
			}
			im, err := Open(ef, fi.Size())
			if err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
			if im.Size() != p.size {
				return fmt.Errorf("%s: the extent holds %d bytes, the descriptor says %d", where, im.Size(), p.size)
			}
			p.r, p.next = im, im.NextData
		default:
			return fmt.Errorf("%s: extent type %s is not supported (want FLAT, VMFS, SPARSE or ZERO)", where, e.Type)
		}
		m.parts = append(m.parts, p)
		m.size += p.size
	}
	return nil
}

// openExtentFile opens an extent named in a descriptor, relative to it.
func (x *Extents) openExtentFile(dir, name, where string) (*os.File, error) {
	if name == "" || filepath.IsAbs(name) || strings.Contains(filepath.ToSlash(name), "../") || name == ".." {
		return nil, fmt.Errorf("%s: extent files must be named relative to the descriptor, within its folder", where)
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	x.files = append(x.files, f)
	return f, nil
}

// shifted turns data ranges of a file into ranges of a part starting at base.
func shifted(next func(int64) (int64, int64, error), base int64) func(int64) (int64, int64, error) {
	return func(off int64) (int64, int64, error) {
		s, e, err := next(off + base)
		return s - base, e - base, err
	}
}

func (m *multiExtent) find(off int64) int {
	return sort.Search(len(m.parts), func(i int) bool { return m.parts[i].start+m.parts[i].size > off })
}

func (m *multiExtent) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vmdk: negative offset %d", off)
	}
	n := 0
	for i := m.find(off); n < len(p) && i < len(m.parts); i++ {
		part := m.parts[i]
		in := off - part.start
		chunk := p[n:min(len(p), n+int(part.size-in))]
		if part.r == nil {
			clear(chunk)
		} else if k, err := part.r.ReadAt(chunk, in); k < len(chunk) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n + k, err
		}
		n += len(chunk)
		off += int64(len(chunk))
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *multiExtent) NextData(off int64) (int64, int64, error) {
	for i := m.find(max(off, 0)); i < len(m.parts); i++ {
		part := m.parts[i]
		s, e, err := part.next(max(off-part.start, 0))
		if errors.Is(err, io.EOF) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		return part.start + s, part.start + min(e, part.size), nil
	}
	return 0, 0, io.EOF
}
