package vmdk

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Layout summarises a streamOptimized VMDK that CheckStreamLayout accepted.
type Layout struct {
	Header      Header
	Grains      int64 // grain markers
	GrainTables int64 // grain table markers
	GDOffset    uint64
	// GrainOffsets maps each grain number to the byte offset of its marker.
	GrainOffsets map[uint64]int64
}

// CheckStreamLayout walks a streamOptimized VMDK marker by marker and checks
// that it is laid out the way VMware's stream writers lay it out, which is
// what Workstation, ovftool and the vSphere Content Library expect:
//   - header version 3, flags compressed + markers (no redundant grain
//     table), DEFLATE, grain directory "at end";
//   - the first grain at the header's overhead, every marker on a 512-byte
//     boundary, grains in ascending disk order, each with a non-empty body;
//   - each grain table right after the grains it indexes, listing exactly
//     them; the grain directory listing exactly those tables;
//   - a footer equal to the header except for the directory's offset;
//   - the end-of-stream marker as the file's last 512 bytes.
//
// qemu-img's streamOptimized output fails it (directory in front, no footer,
// zeros after the end-of-stream marker).
func CheckStreamLayout(r io.ReaderAt, size int64) (*Layout, error) {
	hb := make([]byte, headerSize)
	if err := readAt(r, hb, 0, size); err != nil {
		return nil, err
	}
	hdr, err := parseHeader(hb, 0)
	if err != nil {
		return nil, err
	}
	if err := hdr.validate(0, size); err != nil {
		return nil, err
	}
	switch {
	case hdr.Version != 3:
		return nil, formatErr(4, "version %d: VMware stream readers (ESXi) want version 3", hdr.Version)
	case hdr.Flags != streamFlags:
		return nil, formatErr(8, "flags %#x: VMware streams use %#x (newline test, compressed, markers; no redundant table)", hdr.Flags, streamFlags)
	case hdr.GDOffset != gdAtEnd:
		return nil, formatErr(56, "grain directory at sector %d in the header: VMware streams put it at the end (gdOffset %#x)", hdr.GDOffset, gdAtEnd)
	case hdr.RGDOffset != 0:
		return nil, formatErr(48, "redundant grain directory offset %d in a stream", hdr.RGDOffset)
	case size%SectorSize != 0:
		return nil, formatErr(size, "file size %d is not a multiple of 512", size)
	}
	if n := hdr.tables(); n > maxTables || int64(n)*4 > size {
		return nil, formatErr(12, "capacity %d sectors needs %d grain tables, more than the file (%d bytes) can hold", hdr.Capacity, n, size)
	}
	l := &Layout{Header: hdr, GrainOffsets: map[uint64]int64{}}
	gtes := uint64(hdr.NumGTEsPerGT)
	pending := map[uint64]uint32{} // grains of the table being filled: entry -> sector
	pendingTable := int64(-1)
	tables := map[uint64]uint32{} // table -> sector of its data
	lastLBA := int64(-1)
	m := make([]byte, SectorSize)
	for at := int64(hdr.OverHead) * SectorSize; ; {
		if err := readAt(r, m, at, size); err != nil {
			return nil, fmt.Errorf("no end-of-stream marker before the end of the file: %w", err)
		}
		val := binary.LittleEndian.Uint64(m)
		csize := int64(binary.LittleEndian.Uint32(m[8:]))
		if csize != 0 { // grain
			g := val / hdr.GrainSize
			if val%hdr.GrainSize != 0 || val >= hdr.Capacity || int64(val) <= lastLBA {
				return nil, formatErr(at, "grain marker for LBA %d (after LBA %d): not the next grain boundary within %d sectors", val, lastLBA, hdr.Capacity)
			}
			if t := int64(g / gtes); t != pendingTable {
				if len(pending) > 0 {
					return nil, formatErr(at, "grain for LBA %d starts table %d before table %d's grain table was written", val, t, pendingTable)
				}
				pendingTable = t
			}
			pending[g%gtes] = uint32(at / SectorSize)
			l.GrainOffsets[g] = at
			l.Grains++
			lastLBA = int64(val)
			at += ceilDivInt(grainMarkerSize+csize, SectorSize) * SectorSize
			continue
		}
		typ := binary.LittleEndian.Uint32(m[12:])
		if !bytes.Equal(m[16:], zeroGrain[:SectorSize-16]) {
			return nil, formatErr(at+16, "marker type %d has non-zero padding", typ)
		}
		dataAt := at + SectorSize
		switch typ {
		case markerGT:
			if val != ceilDiv(gtes*4, SectorSize) || len(pending) == 0 {
				return nil, formatErr(at, "grain table marker of %d sectors with %d grains pending", val, len(pending))
			}
			gt := make([]byte, val*SectorSize)
			if err := readAt(r, gt, dataAt, size); err != nil {
				return nil, err
			}
			for i := uint64(0); i < gtes; i++ {
				if got, want := binary.LittleEndian.Uint32(gt[i*4:]), pending[i]; got != want {
					return nil, formatErr(dataAt+int64(i)*4, "grain table %d entry %d is sector %d, but that grain's marker is at sector %d", pendingTable, i, got, want)
				}
			}
			tables[uint64(pendingTable)] = uint32(dataAt / SectorSize)
			clear(pending)
			l.GrainTables++
		case markerGD:
			if len(pending) > 0 {
				return nil, formatErr(at, "grain directory before table %d's grain table", pendingTable)
			}
			n := hdr.tables()
			if val != ceilDiv(n*4, SectorSize) {
				return nil, formatErr(at, "grain directory marker announces %d sectors, want %d", val, ceilDiv(n*4, SectorSize))
			}
			gd := make([]byte, val*SectorSize)
			if err := readAt(r, gd, dataAt, size); err != nil {
				return nil, err
			}
			for t := uint64(0); t < n; t++ {
				if got, want := binary.LittleEndian.Uint32(gd[t*4:]), tables[t]; got != want {
					return nil, formatErr(dataAt+int64(t)*4, "grain directory entry %d is sector %d, want %d", t, got, want)
				}
			}
			l.GDOffset = uint64(dataAt / SectorSize)
		case markerFooter:
			if val != 1 || l.GDOffset == 0 {
				return nil, formatErr(at, "footer marker (%d sectors) before any grain directory", val)
			}
			fb := make([]byte, SectorSize)
			if err := readAt(r, fb, dataAt, size); err != nil {
				return nil, err
			}
			want := append([]byte(nil), hb...)
			binary.LittleEndian.PutUint64(want[56:], l.GDOffset)
			if !bytes.Equal(fb, want) {
				return nil, formatErr(dataAt, "footer is not the header with gdOffset %d", l.GDOffset)
			}
			if next := dataAt + SectorSize; next != size-SectorSize {
				return nil, formatErr(next, "the footer must be followed by the end-of-stream marker as the last sector (file ends at %d)", size)
			}
		case markerEOS:
			if val != 0 {
				return nil, formatErr(at, "end-of-stream marker with value %d", val)
			}
			if at != size-SectorSize {
				return nil, formatErr(at, "end-of-stream marker is not the last 512 bytes (file ends at %d)", size)
			}
			if l.GDOffset == 0 {
				return nil, formatErr(at, "end of stream without a grain directory and footer")
			}
			return l, nil
		default:
			return nil, formatErr(at+12, "unexpected marker type %d", typ)
		}
		at = dataAt + int64(val)*SectorSize
	}
}
