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
	w := &layoutWalk{r: r, size: size, hb: hb, gtes: uint64(hdr.NumGTEsPerGT), pendingTable: -1, lastLBA: -1,
		pending: map[uint64]uint32{}, tables: map[uint64]uint32{},
		l: &Layout{Header: hdr, GrainOffsets: map[uint64]int64{}}}
	m := make([]byte, SectorSize)
	for at := int64(hdr.OverHead) * SectorSize; ; {
		if err := readAt(r, m, at, size); err != nil {
			return nil, fmt.Errorf("no end-of-stream marker before the end of the file: %w", err)
		}
		val := binary.LittleEndian.Uint64(m)
		if csize := int64(binary.LittleEndian.Uint32(m[8:])); csize != 0 {
			if err := w.grain(at, val); err != nil {
				return nil, err
			}
			at += ceilDivInt(grainMarkerSize+csize, SectorSize) * SectorSize
			continue
		}
		typ := binary.LittleEndian.Uint32(m[12:])
		if !bytes.Equal(m[16:], zeroGrain[:SectorSize-16]) {
			return nil, formatErr(at+16, "marker type %d has non-zero padding", typ)
		}
		var err error
		switch typ {
		case markerGT:
			err = w.grainTable(at, val)
		case markerGD:
			err = w.directory(at, val)
		case markerFooter:
			err = w.footer(at, val)
		case markerEOS:
			if err = w.end(at, val); err == nil {
				return w.l, nil
			}
		default:
			err = formatErr(at+12, "unexpected marker type %d", typ)
		}
		if err != nil {
			return nil, err
		}
		at += SectorSize + int64(val)*SectorSize
	}
}

// layoutWalk is CheckStreamLayout's state between markers.
type layoutWalk struct {
	r            io.ReaderAt
	size         int64
	hb           []byte // the header as read
	gtes         uint64
	pending      map[uint64]uint32 // grains of the table being filled: entry -> sector
	pendingTable int64
	tables       map[uint64]uint32 // table -> sector of its data
	lastLBA      int64
	footerSeen   bool
	l            *Layout
}

func (w *layoutWalk) grain(at int64, lba uint64) error {
	hdr := &w.l.Header
	g := lba / hdr.GrainSize
	if lba%hdr.GrainSize != 0 || lba >= hdr.Capacity || int64(lba) <= w.lastLBA {
		return formatErr(at, "grain marker for LBA %d (after LBA %d): not the next grain boundary within %d sectors", lba, w.lastLBA, hdr.Capacity)
	}
	if t := int64(g / w.gtes); t != w.pendingTable {
		if len(w.pending) > 0 {
			return formatErr(at, "grain for LBA %d starts table %d before table %d's grain table was written", lba, t, w.pendingTable)
		}
		w.pendingTable = t
	}
	w.pending[g%w.gtes] = uint32(at / SectorSize)
	w.l.GrainOffsets[g] = at
	w.l.Grains++
	w.lastLBA = int64(lba)
	return nil
}

// grainTable checks a table lists exactly the grains written since the last.
func (w *layoutWalk) grainTable(at int64, sectors uint64) error {
	if sectors != ceilDiv(w.gtes*4, SectorSize) || len(w.pending) == 0 {
		return formatErr(at, "grain table marker of %d sectors with %d grains pending", sectors, len(w.pending))
	}
	gt := make([]byte, sectors*SectorSize)
	dataAt := at + SectorSize
	if err := readAt(w.r, gt, dataAt, w.size); err != nil {
		return err
	}
	for i := uint64(0); i < w.gtes; i++ {
		if got, want := binary.LittleEndian.Uint32(gt[i*4:]), w.pending[i]; got != want {
			return formatErr(dataAt+int64(i)*4, "grain table %d entry %d is sector %d, but that grain's marker is at sector %d", w.pendingTable, i, got, want)
		}
	}
	w.tables[uint64(w.pendingTable)] = uint32(dataAt / SectorSize)
	clear(w.pending)
	w.l.GrainTables++
	return nil
}

// directory checks the grain directory lists exactly the tables written.
func (w *layoutWalk) directory(at int64, sectors uint64) error {
	if len(w.pending) > 0 {
		return formatErr(at, "grain directory before table %d's grain table", w.pendingTable)
	}
	n := w.l.Header.tables()
	if sectors != ceilDiv(n*4, SectorSize) {
		return formatErr(at, "grain directory marker announces %d sectors, want %d", sectors, ceilDiv(n*4, SectorSize))
	}
	gd := make([]byte, sectors*SectorSize)
	dataAt := at + SectorSize
	if err := readAt(w.r, gd, dataAt, w.size); err != nil {
		return err
	}
	for t := uint64(0); t < n; t++ {
		if got, want := binary.LittleEndian.Uint32(gd[t*4:]), w.tables[t]; got != want {
			return formatErr(dataAt+int64(t)*4, "grain directory entry %d is sector %d, want %d", t, got, want)
		}
	}
	w.l.GDOffset = uint64(dataAt / SectorSize)
	return nil
}

// footer checks the footer is the header with the directory's offset, and
// that only the end-of-stream marker follows.
func (w *layoutWalk) footer(at int64, sectors uint64) error {
	if sectors != 1 || w.l.GDOffset == 0 {
		return formatErr(at, "footer marker (%d sectors) before any grain directory", sectors)
	}
	fb := make([]byte, SectorSize)
	dataAt := at + SectorSize
	if err := readAt(w.r, fb, dataAt, w.size); err != nil {
		return err
	}
	want := append([]byte(nil), w.hb...)
	binary.LittleEndian.PutUint64(want[56:], w.l.GDOffset)
	if !bytes.Equal(fb, want) {
		return formatErr(dataAt, "footer is not the header with gdOffset %d", w.l.GDOffset)
	}
	if next := dataAt + SectorSize; next != w.size-SectorSize {
		return formatErr(next, "the footer must be followed by the end-of-stream marker as the last sector (file ends at %d)", w.size)
	}
	w.footerSeen = true
	return nil
}

func (w *layoutWalk) end(at int64, val uint64) error {
	switch {
	case val != 0:
		return formatErr(at, "end-of-stream marker with value %d", val)
	case at != w.size-SectorSize:
		return formatErr(at, "end-of-stream marker is not the last 512 bytes (file ends at %d)", w.size)
	case !w.footerSeen:
		return formatErr(at, "end of stream without a grain directory and footer")
	}
	return nil
}
