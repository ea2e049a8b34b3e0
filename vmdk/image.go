package vmdk

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// Image is a sparse VMDK extent opened for random access: streamOptimized
// (VMware's layout with the directory in a footer, qemu-img's with the
// directory in front) or a hosted monolithicSparse extent. It is safe for
// concurrent use.
type Image struct {
	r        io.ReaderAt
	fileSize int64
	hdr      Header
	desc     *Descriptor
	size     int64 // capacity in bytes
	grain    int64 // grain size in bytes
	gd       []uint32

	mu       sync.Mutex
	tables   map[uint64][]uint32 // grain tables read so far (bounded cache)
	cacheIdx uint64              // grain held in cached
	cached   []byte              // last grain inflated (compressed extents)
	inflate  inflater
	scratch  []byte
}

// maxTables caps the grain directory (64 MiB), far above the 8M tables of a
// 256 TiB disk with 64 KiB grains.
const maxTables = 1 << 24

// maxCachedTables bounds the grain tables kept in memory: 2 KiB each with
// the usual 512 entries, 256 KiB at most.
const maxCachedTables = 64

// Open reads the header, footer and grain directory of the sparse extent r
// (size bytes long). Grain tables and grains are read on demand.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	hdr, desc, err := ReadHeader(r, size)
	if err != nil {
		return nil, err
	}
	if desc != nil && desc.ParentCID != "" && desc.ParentCID != "ffffffff" {
		return nil, formatErr(int64(hdr.DescriptorOffset)*SectorSize, "this is a delta disk (parentCID=%s): it needs its parent, which is not supported", desc.ParentCID)
	}
	im := &Image{r: r, fileSize: size, hdr: hdr, desc: desc, tables: map[uint64][]uint32{}, cacheIdx: ^uint64(0)}
	im.size = int64(hdr.Capacity) * SectorSize
	im.grain = int64(hdr.GrainSize) * SectorSize
	gdOffset := hdr.GDOffset
	if gdOffset == gdAtEnd {
		if hdr.Flags&flagMarkers == 0 {
			return nil, formatErr(56, "grain directory \"at end\" in an extent without markers")
		}
		footer, at, err := findFooter(r, size)
		if err != nil {
			return nil, err
		}
		if footer.Capacity != hdr.Capacity || footer.GrainSize != hdr.GrainSize || footer.NumGTEsPerGT != hdr.NumGTEsPerGT || footer.Flags != hdr.Flags {
			return nil, formatErr(at, "footer disagrees with the header (capacity %d/%d sectors, grain %d/%d, flags %#x/%#x)",
				footer.Capacity, hdr.Capacity, footer.GrainSize, hdr.GrainSize, footer.Flags, hdr.Flags)
		}
		if footer.GDOffset == gdAtEnd || footer.GDOffset == 0 || footer.GDOffset >= uint64(size)/SectorSize {
			return nil, formatErr(at+56, "footer's grain directory offset %d is outside the %d-sector file", footer.GDOffset, size/SectorSize)
		}
		gdOffset = footer.GDOffset
	}
	n := hdr.tables()
	if n > maxTables || int64(n)*4 > size {
		return nil, formatErr(12, "capacity %d sectors needs %d grain tables, more than the file (%d bytes) can hold", hdr.Capacity, n, size)
	}
	raw := make([]byte, n*4)
	if err := readAt(r, raw, int64(gdOffset)*SectorSize, size); err != nil {
		return nil, fmt.Errorf("reading the grain directory: %w", err)
	}
	im.gd = make([]uint32, n)
	fileSectors := uint64(size) / SectorSize
	for i := range im.gd {
		v := binary.LittleEndian.Uint32(raw[i*4:])
		tableSectors := ceilDiv(uint64(hdr.NumGTEsPerGT)*4, SectorSize)
		if v != 0 && uint64(v)+tableSectors > fileSectors {
			return nil, formatErr(int64(gdOffset)*SectorSize+int64(i)*4, "grain directory entry %d points to sector %d, outside the %d-sector file", i, v, fileSectors)
		}
		im.gd[i] = v
	}
	return im, nil
}

// readAt reads exactly len(b) bytes at off of a file that is size bytes long.
func readAt(r io.ReaderAt, b []byte, off, size int64) error {
	if off < 0 || off+int64(len(b)) > size {
		return formatErr(off, "need %d bytes here but the file ends at %d", len(b), size)
	}
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("reading %d bytes at offset %d: %w", len(b), off, err)
}

// ReadHeader reads and checks the header of the sparse extent r (size bytes
// long) and parses its embedded descriptor, nil when it has none; it does
// not read the grain directory. It says what an extent is (capacity,
// createType, a delta disk's parent) for callers that only classify disks;
// Open uses it and refuses delta disks.
func ReadHeader(r io.ReaderAt, size int64) (Header, *Descriptor, error) {
	b := make([]byte, headerSize)
	if err := readAt(r, b, 0, size); err != nil {
		return Header{}, nil, err
	}
	hdr, err := parseHeader(b, 0)
	if err != nil {
		return Header{}, nil, err
	}
	if err := hdr.validate(0, size); err != nil {
		return Header{}, nil, err
	}
	if hdr.DescriptorSize == 0 {
		return hdr, nil, nil
	}
	b = make([]byte, hdr.DescriptorSize*SectorSize)
	at := int64(hdr.DescriptorOffset) * SectorSize
	if err := readAt(r, b, at, size); err != nil {
		return Header{}, nil, fmt.Errorf("reading the embedded descriptor: %w", err)
	}
	d, err := ParseDescriptor(string(b))
	if err != nil {
		return Header{}, nil, &FormatError{Offset: at, Msg: err.Error()}
	}
	return hdr, d, nil
}

// findFooter finds the footer marker and footer near the end of a stream:
// VMware puts them in the two sectors before the end-of-stream marker; some
// writers add zero sectors after it, so the last 128 sectors are searched.
func findFooter(r io.ReaderAt, size int64) (Header, int64, error) {
	const window = 128 * SectorSize
	start := max(size-window, 0) / SectorSize * SectorSize
	b := make([]byte, size-start)
	if err := readAt(r, b, start, size); err != nil {
		return Header{}, 0, err
	}
	for at := int64(len(b)) - 2*SectorSize; at >= 0; at -= SectorSize {
		m := b[at:]
		if binary.LittleEndian.Uint64(m) == 1 && binary.LittleEndian.Uint32(m[8:]) == 0 && binary.LittleEndian.Uint32(m[12:]) == markerFooter {
			f, err := parseHeader(m[SectorSize:], start+at+SectorSize)
			if err != nil {
				return Header{}, 0, err
			}
			return f, start + at + SectorSize, nil
		}
	}
	return Header{}, 0, formatErr(max(size-SectorSize, 0), "no footer in the last %d bytes although the header puts the grain directory at the end: truncated stream?", window)
}

// Size is the virtual disk size in bytes.
func (im *Image) Size() int64 { return im.size }

// Header is the extent's header (for a stream, with the footer's directory
// offset not merged in).
func (im *Image) Header() Header { return im.hdr }

// Descriptor is the embedded descriptor, or nil when the extent has none.
func (im *Image) Descriptor() *Descriptor { return im.desc }

// StreamOptimized reports whether grains are compressed and framed by
// markers, as in a streamOptimized VMDK.
func (im *Image) StreamOptimized() bool {
	return im.hdr.Flags&(flagCompressed|flagMarkers) == flagCompressed|flagMarkers
}
