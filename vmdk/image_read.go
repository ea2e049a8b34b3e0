package vmdk

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Reading an opened sparse extent: grain tables on demand, grains inflated
// (compressed extents) or read in place.

// table returns grain table t (nil when unallocated). Callers hold im.mu.
func (im *Image) table(t uint64) ([]uint32, error) {
	if im.gd[t] == 0 {
		return nil, nil
	}
	if gt, ok := im.tables[t]; ok {
		return gt, nil
	}
	n := int(im.hdr.NumGTEsPerGT)
	raw := make([]byte, n*4)
	at := int64(im.gd[t]) * SectorSize
	if err := readAt(im.r, raw, at, im.fileSize); err != nil {
		return nil, fmt.Errorf("reading grain table %d: %w", t, err)
	}
	gt := make([]uint32, n)
	for i := range gt {
		gt[i] = binary.LittleEndian.Uint32(raw[i*4:])
	}
	if len(im.tables) >= maxCachedTables {
		clear(im.tables)
	}
	im.tables[t] = gt
	return gt, nil
}

// entry is the grain table entry of grain g: 0 unallocated, 1 zeroed (hosted
// sparse "zero grain"), else the grain's sector.
func (im *Image) entry(g uint64) (uint32, error) {
	n := uint64(im.hdr.NumGTEsPerGT)
	gt, err := im.table(g / n)
	if err != nil || gt == nil {
		return 0, err
	}
	return gt[g%n], nil
}

// ReadAt reads the virtual disk; unallocated grains read as zeros.
func (im *Image) ReadAt(p []byte, off int64) (int, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	return readBlocks("vmdk", p, off, im.size, im.grain, im.readGrain)
}

// readGrain fills dst with grain g's bytes from offset in within the grain.
func (im *Image) readGrain(g uint64, in int64, dst []byte) error {
	e, err := im.entry(g)
	if err != nil {
		return err
	}
	if e <= 1 {
		clear(dst)
		return nil
	}
	if im.hdr.Flags&flagCompressed == 0 {
		if err := readAt(im.r, dst, int64(e)*SectorSize+in, im.fileSize); err != nil {
			return fmt.Errorf("reading grain %d at sector %d: %w", g, e, err)
		}
		return nil
	}
	if im.cacheIdx != g {
		if im.cached == nil {
			im.cached = make([]byte, im.grain)
		}
		if err := im.inflateGrain(g, e); err != nil {
			im.cacheIdx = ^uint64(0)
			return err
		}
		im.cacheIdx = g
	}
	copy(dst, im.cached[in:])
	return nil
}

// maxCompressedGrain bounds a grain's compressed size: DEFLATE never grows
// data by more than a few bytes per 64 KiB, so twice the grain is generous.
func (im *Image) maxCompressedGrain() int64 { return 2*im.grain + SectorSize }

// inflateGrain decompresses grain g stored at sector e into im.cached.
func (im *Image) inflateGrain(g uint64, e uint32) error {
	at := int64(e) * SectorSize
	var hdr [grainMarkerSize]byte
	hdrLen := int64(4)
	if im.hdr.Flags&flagMarkers != 0 {
		hdrLen = grainMarkerSize
	}
	if err := readAt(im.r, hdr[:hdrLen], at, im.fileSize); err != nil {
		return fmt.Errorf("reading grain %d: %w", g, err)
	}
	var size int64
	if hdrLen == grainMarkerSize {
		if lba := binary.LittleEndian.Uint64(hdr[:]); lba != g*im.hdr.GrainSize {
			return formatErr(at, "grain table entry for grain %d (LBA %d) points to a grain marker for LBA %d", g, g*im.hdr.GrainSize, lba)
		}
		size = int64(binary.LittleEndian.Uint32(hdr[8:]))
	} else {
		size = int64(binary.LittleEndian.Uint32(hdr[:]))
	}
	if size == 0 || size > im.maxCompressedGrain() {
		return formatErr(at+hdrLen-4, "grain %d: compressed size %d out of range (1 to %d)", g, size, im.maxCompressedGrain())
	}
	if int64(cap(im.scratch)) < size {
		im.scratch = make([]byte, size)
	}
	data := im.scratch[:size]
	if err := readAt(im.r, data, at+hdrLen, im.fileSize); err != nil {
		return fmt.Errorf("reading grain %d: %w", g, err)
	}
	want := min(im.grain, im.size-int64(g)*im.grain)
	got, err := im.inflate.inflate(im.cached, data)
	if err != nil {
		return formatErr(at+hdrLen, "grain %d (LBA %d): corrupt DEFLATE data: %v", g, g*im.hdr.GrainSize, err)
	}
	if int64(got) < want {
		// VMDKstream compresses the bytes of the input file only, so a
		// last grain may inflate short of its sector-rounded end.
		if int64(g) != (im.size-1)/im.grain || want-int64(got) >= SectorSize {
			return formatErr(at+hdrLen, "grain %d inflates to %d bytes, want %d", g, got, want)
		}
	}
	clear(im.cached[got:])
	return nil
}

// NextData implements SparseReaderAt: the next run of allocated grains.
func (im *Image) NextData(off int64) (int64, int64, error) {
	off = max(off, 0)
	if off >= im.size {
		return 0, 0, io.EOF
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	grains := im.hdr.grains()
	n := uint64(im.hdr.NumGTEsPerGT)
	g := uint64(off / im.grain)
	for g < grains {
		if im.gd[g/n] == 0 {
			g = (g/n + 1) * n // skip a whole unallocated table
			continue
		}
		e, err := im.entry(g)
		if err != nil {
			return 0, 0, err
		}
		if e <= 1 {
			g++
			continue
		}
		start := max(off, int64(g)*im.grain)
		for g++; g < grains; g++ {
			if e, err := im.entry(g); err != nil {
				return 0, 0, err
			} else if e <= 1 {
				break
			}
		}
		return start, min(int64(g)*im.grain, im.size), nil
	}
	return 0, 0, io.EOF
}

// Allocated counts the allocated grains and the disk bytes they cover (the
// OVF populatedSize of a disk passed through unchanged).
func (im *Image) Allocated() (grains, bytes int64, err error) {
	for off := int64(0); ; {
		start, end, err := im.NextData(off)
		if err == io.EOF {
			return grains, bytes, nil
		}
		if err != nil {
			return 0, 0, err
		}
		grains += ceilDivInt(end, im.grain) - start/im.grain
		bytes += end - start
		off = end
	}
}

func ceilDivInt(a, b int64) int64 { return (a + b - 1) / b }
