package vmdk

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// StreamReader decodes a streamOptimized VMDK front to back, from a reader
// that cannot seek (an OVA being downloaded or untarred), into the raw disk
// bytes. Grains must come in ascending disk order, as every stream writer
// (VMware's, qemu-img, VMDKstream, Write) emits them; grain tables, the
// directory and the footer are skipped.
//
// The header says how the stream ends. With the grain directory at the end
// (gdOffset GD_AT_END: VMware, VMDKstream, Write) a footer and an
// end-of-stream marker must follow the grains. With the directory in front
// (qemu-img) neither is needed: the stream ends at an end-of-stream marker
// (qemu-img's zero padding reads as one) or at the end of the input, on a
// marker's boundary. Either way an input that ends inside a grain or a
// marker is refused, and the stream is read to its end, so what follows
// the disk's last grain is checked too.
type StreamReader struct {
	r    io.Reader
	at   int64 // bytes consumed from r
	hdr  Header
	desc *Descriptor
	size int64 // capacity in bytes

	pos      int64  // next disk byte Read returns
	next     int64  // disk offset of the pending grain (-1: none)
	grain    []byte // pending grain's bytes, served from pos-next
	buf      []byte
	eos      bool // the stream's end was read (marker, or end of input)
	footer   bool // a footer marker was read
	dirAtEnd bool // the header's gdOffset is GD_AT_END: footer and EOS must follow
	lastLBA  int64
	inflate  inflater
	err      error // sticky: a stream cannot resume after an error
}

// NewStreamReader reads the header and descriptor of a streamOptimized VMDK.
func NewStreamReader(r io.Reader) (*StreamReader, error) {
	s := &StreamReader{r: r, next: -1, lastLBA: -1}
	b := make([]byte, headerSize)
	if err := s.read(b); err != nil {
		return nil, err
	}
	hdr, err := parseHeader(b, 0)
	if err != nil {
		return nil, err
	}
	// The stream's length is unknown: offsets are checked as they come.
	if err := hdr.validate(0, math.MaxInt64/2); err != nil {
		return nil, err
	}
	if hdr.Flags&(flagCompressed|flagMarkers) != flagCompressed|flagMarkers {
		return nil, formatErr(8, "flags %#x: not a streamOptimized VMDK (want compressed grains with markers)", hdr.Flags)
	}
	s.hdr = hdr
	s.dirAtEnd = hdr.GDOffset == gdAtEnd
	s.size = int64(hdr.Capacity) * SectorSize
	grainBytes := int64(hdr.GrainSize) * SectorSize
	s.grain = make([]byte, 0, grainBytes)
	s.buf = make([]byte, 0, 2*grainBytes+2*SectorSize)
	// Everything up to overHead (descriptor; qemu-img's directory and
	// tables) precedes the first marker.
	if hdr.OverHead < 1 {
		return nil, formatErr(64, "overhead of %d sectors leaves no room for the header", hdr.OverHead)
	}
	if hdr.DescriptorSize > 0 && hdr.DescriptorOffset+hdr.DescriptorSize <= hdr.OverHead {
		if err := s.skip(int64(hdr.DescriptorOffset-1) * SectorSize); err != nil {
			return nil, err
		}
		d := make([]byte, hdr.DescriptorSize*SectorSize)
		at := s.at
		if err := s.read(d); err != nil {
			return nil, err
		}
		if s.desc, err = ParseDescriptor(string(d)); err != nil {
			return nil, &FormatError{Offset: at, Msg: err.Error()}
		}
		if s.desc.ParentCID != "" && s.desc.ParentCID != "ffffffff" {
			return nil, formatErr(at, "this is a delta disk (parentCID=%s): it needs its parent, which is not supported", s.desc.ParentCID)
		}
	}
	if err := s.skip(int64(hdr.OverHead)*SectorSize - s.at); err != nil {
		return nil, err
	}
	return s, nil
}

// Size is the virtual disk size in bytes.
func (s *StreamReader) Size() int64 { return s.size }

// Header is the stream's header.
func (s *StreamReader) Header() Header { return s.hdr }

// Descriptor is the embedded descriptor, or nil.
func (s *StreamReader) Descriptor() *Descriptor { return s.desc }

func (s *StreamReader) read(b []byte) error {
	n, err := io.ReadFull(s.r, b)
	s.at += int64(n)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return s.truncated()
	}
	if err != nil {
		return fmt.Errorf("reading the VMDK at byte %d: %w", s.at, err)
	}
	return nil
}

func (s *StreamReader) skip(n int64) error {
	if n < 0 {
		return formatErr(s.at, "layout goes backwards by %d bytes", -n)
	}
	got, err := io.CopyN(io.Discard, s.r, n)
	s.at += got
	if err == io.EOF {
		return s.truncated()
	}
	if err != nil {
		return fmt.Errorf("reading the VMDK at byte %d: %w", s.at, err)
	}
	return nil
}

// truncated is the error for an input that ends where the stream cannot.
func (s *StreamReader) truncated() error {
	if s.dirAtEnd {
		return formatErr(s.at, "stream ends here, before its footer and end-of-stream marker (the header puts the grain directory at the end): truncated?")
	}
	return formatErr(s.at, "stream ends here, inside a grain or marker: truncated?")
}

// readMarker reads the next marker's first sector into m; ok is false at
// the end of a stream whose directory is in front: the input ends cleanly
// on a marker's boundary.
func (s *StreamReader) readMarker(m []byte) (ok bool, err error) {
	n, err := io.ReadFull(s.r, m)
	s.at += int64(n)
	if err == io.EOF && !s.dirAtEnd {
		return false, nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return false, s.truncated()
	}
	if err != nil {
		return false, fmt.Errorf("reading the VMDK at byte %d: %w", s.at, err)
	}
	return true, nil
}

// finish reads what follows the disk's last grain (tables, directory,
// footer) up to the stream's end; a grain there is an error.
func (s *StreamReader) finish() error {
	if s.eos {
		return nil
	}
	lba, at, _, err := s.readGrain(s.buf[:s.maxGrainFrame()])
	if err != nil || lba < 0 {
		return err
	}
	return formatErr(at, "grain for LBA %d after the disk's last grain", lba)
}

// maxMetadataSectors bounds what a marker may announce (skipped, never
// allocated): a grain directory for maxTables entries.
const maxMetadataSectors = maxTables * 4 / SectorSize

// nextGrain reads markers until the next grain (stored in s.grain at s.next)
// or the end of the stream.
func (s *StreamReader) nextGrain() error {
	lba, at, data, err := s.readGrain(s.buf)
	if err != nil || lba < 0 {
		return err
	}
	grainBytes := int64(s.hdr.GrainSize) * SectorSize
	g, err := s.inflateGrain(&s.inflate, s.grain[:grainBytes], lba, at, data)
	if err != nil {
		return err
	}
	s.grain = g
	s.next = lba * SectorSize
	return nil
}

// maxGrainFrame is the most buffer readGrain needs: a grain marker with the
// largest compressed size accepted, padded to a sector.
func (s *StreamReader) maxGrainFrame() int {
	return int(2*s.hdr.GrainSize*SectorSize + 2*SectorSize)
}

// readGrain reads markers up to the next grain and returns its first LBA,
// the stream offset of its marker and its compressed bytes (within buf, at
// least maxGrainFrame long); lba is -1 at the end-of-stream marker (s.eos).
// Grains and markers are checked here, in stream order; inflating is
// inflateGrain's, which may run elsewhere.
func (s *StreamReader) readGrain(buf []byte) (lba, at int64, data []byte, err error) {
	grainBytes := int64(s.hdr.GrainSize) * SectorSize
	for {
		at = s.at
		m := buf[:SectorSize]
		if ok, err := s.readMarker(m); err != nil || !ok {
			s.eos = err == nil
			return -1, at, nil, err
		}
		val := binary.LittleEndian.Uint64(m)
		size := int64(binary.LittleEndian.Uint32(m[8:]))
		if size == 0 {
			typ := binary.LittleEndian.Uint32(m[12:])
			switch typ {
			case markerEOS:
				if s.dirAtEnd && !s.footer {
					return -1, at, nil, formatErr(at, "end-of-stream marker without the footer the header promises (gdOffset is GD_AT_END): truncated or broken stream")
				}
				s.eos = true
				return -1, at, nil, nil
			case markerGT, markerGD, markerFooter, markerProgress:
				s.footer = s.footer || typ == markerFooter
				if val > maxMetadataSectors {
					return -1, at, nil, formatErr(at, "marker type %d announces %d sectors, more than %d", typ, val, maxMetadataSectors)
				}
				if err := s.skip(int64(val) * SectorSize); err != nil {
					return -1, at, nil, err
				}
				continue
			default:
				return -1, at, nil, formatErr(at+12, "unknown marker type %d", typ)
			}
		}
		lba = int64(val)
		if val%s.hdr.GrainSize != 0 || val >= s.hdr.Capacity {
			return -1, at, nil, formatErr(at, "grain marker for LBA %d: not a grain boundary within the capacity of %d sectors", val, s.hdr.Capacity)
		}
		if lba <= s.lastLBA {
			return -1, at, nil, formatErr(at, "grain for LBA %d follows LBA %d: grains out of disk order (use Open with an io.ReaderAt)", lba, s.lastLBA)
		}
		if size > 2*grainBytes+SectorSize {
			return -1, at, nil, formatErr(at+8, "grain for LBA %d: compressed size %d exceeds %d", lba, size, 2*grainBytes+SectorSize)
		}
		// The marker's first sector holds the first bytes of the data.
		total := ceilDivInt(grainMarkerSize+size, SectorSize) * SectorSize
		b := buf[:total]
		if err := s.read(b[SectorSize:]); err != nil {
			return -1, at, nil, err
		}
		s.lastLBA = lba
		return lba, at, b[grainMarkerSize : grainMarkerSize+size], nil
	}
}

// inflateGrain inflates the grain readGrain found at lba (its marker at
// stream offset at) into g, one grain long, and returns the disk bytes it
// covers (shorter for the disk's last grain). It reads only what
// NewStreamReader set, so inflaters may run it at once.
func (s *StreamReader) inflateGrain(f *inflater, g []byte, lba, at int64, data []byte) ([]byte, error) {
	grainBytes := int64(len(g))
	off := lba * SectorSize
	want := min(grainBytes, s.size-off)
	n, err := f.inflate(g, data)
	if err != nil {
		return nil, formatErr(at+grainMarkerSize, "grain for LBA %d: corrupt DEFLATE data: %v", lba, err)
	}
	if int64(n) < want && (off+grainBytes < s.size || want-int64(n) >= SectorSize) {
		return nil, formatErr(at+grainMarkerSize, "grain for LBA %d inflates to %d bytes, want %d", lba, n, want)
	}
	clear(g[n:])
	return g[:want], nil
}

// Read returns the disk's bytes in order; holes read as zeros.
func (s *StreamReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.pos >= s.size {
		if err := s.finish(); err != nil {
			s.err = err
			return 0, err
		}
		return 0, io.EOF
	}
	if s.next < 0 && !s.eos {
		if err := s.nextGrain(); err != nil {
			s.err = err
			return 0, err
		}
	}
	limit := s.size
	if s.next >= 0 {
		limit = s.next + int64(len(s.grain))
	}
	n := int(min(int64(len(p)), limit-s.pos))
	if s.next < 0 || s.pos < s.next {
		// Zeros up to the pending grain (or the end).
		if s.next >= 0 {
			n = int(min(int64(n), s.next-s.pos))
		}
		clear(p[:n])
	} else {
		n = copy(p[:n], s.grain[s.pos-s.next:])
	}
	s.pos += int64(n)
	if s.next >= 0 && s.pos >= s.next+int64(len(s.grain)) {
		s.next = -1
	}
	return n, nil
}
