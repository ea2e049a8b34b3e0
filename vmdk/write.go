package vmdk

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// DefaultLevel is the DEFLATE level used when Options.Level is 0. Level 8
// (klauspost/compress) keeps streamOptimized files about as small as
// qemu-img's zlib level 6 on text while running several times faster on
// every core (see bench/vmdk.sh).
const DefaultLevel = 8

// Options configure Write. The zero value writes what vSphere's export
// writes for an LSI Logic disk.
type Options struct {
	// Level is the DEFLATE level (1 fastest .. 9 smallest) for grains that
	// compress; grains that do not are stored. 0 means DefaultLevel.
	Level int
	// Workers compress grains in parallel; 0 means GOMAXPROCS.
	Workers int

	// AdapterType is ddb.adapterType: "lsilogic" (default), "buslogic",
	// "ide" or "legacyESX". hardware.AdapterTypeFor maps a VM controller to it.
	AdapterType string
	// HardwareVersion is ddb.virtualHWVersion; 0 writes "4", the value
	// VMware's tools write when the VM's version is not known.
	HardwareVersion int
	// ToolsInstallType is ddb.toolsInstallType; "" writes "4"
	// (open-vm-tools, managed by the guest's package manager).
	ToolsInstallType string
	// ToolsVersion is ddb.toolsVersion; "" writes "2147483647" (unknown).
	ToolsVersion string
	// CID is the content ID; 0 picks a random one. Set it (and
	// LongContentID) for byte-identical output from identical input.
	CID uint32
	// LongContentID is ddb.longContentID, 32 hex digits; "" picks a random one.
	LongContentID string
	// ExtentFile is the name in the extent line; "" writes
	// "generated-stream.vmdk", as ESXi does whatever the file is called.
	ExtentFile string
	// ExtraDDB adds or overrides ddb.* entries (e.g. "ddb.uuid").
	ExtraDDB map[string]string

	// Progress, when set, is called from Write's goroutine with the bytes of
	// the disk converted so far and the total.
	Progress func(done, total int64)
}

// Stats describe a written VMDK, for the OVF that references it.
type Stats struct {
	// Size is the VMDK's length in bytes (OVF File/@ovf:size).
	Size int64
	// Capacity is the virtual disk size in bytes: the input size rounded up
	// to a whole sector (OVF Disk/@ovf:capacity).
	Capacity int64
	// AllocatedGrains counts the grains stored (not all-zero).
	AllocatedGrains int64
	// PopulatedSize is the bytes of disk those grains cover (OVF
	// Disk/@ovf:populatedSize).
	PopulatedSize int64
}

func (o *Options) validate() error {
	if o.Level < 0 || o.Level > 9 {
		return fmt.Errorf("vmdk: compression level %d out of range (1-9, or 0 for the default %d)", o.Level, DefaultLevel)
	}
	if o.AdapterType != "" && !contains(AdapterTypes, o.AdapterType) {
		return fmt.Errorf("vmdk: adapter type %q: want one of %s (hardware.AdapterTypeFor maps a controller)", o.AdapterType, strings.Join(AdapterTypes, ", "))
	}
	check := func(what, v string) error {
		if strings.ContainsAny(v, "\"\n\r\x00") {
			return fmt.Errorf("vmdk: %s %q must not contain quotes, newlines or NULs", what, v)
		}
		return nil
	}
	for what, v := range map[string]string{"tools install type": o.ToolsInstallType, "tools version": o.ToolsVersion, "long content ID": o.LongContentID, "extent file name": o.ExtentFile} {
		if err := check(what, v); err != nil {
			return err
		}
	}
	for k, v := range o.ExtraDDB {
		if !strings.HasPrefix(k, "ddb.") || strings.ContainsAny(k, " =\"\n\r\x00") {
			return fmt.Errorf("vmdk: extra disk database key %q: want ddb.<name>", k)
		}
		if err := check(k, v); err != nil {
			return err
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Write encodes the size bytes of src as a streamOptimized VMDK onto dst,
// front to back (dst need not seek): header and descriptor, grains, each
// grain table after its grains, grain directory, footer, end-of-stream
// marker. Holes (SEEK_HOLE, SparseReaderAt) are not read and all-zero grains
// are not stored. A size that is not a multiple of 512 is padded with zeros
// to a whole sector. Write stops with ctx's error when ctx is cancelled.
func Write(ctx context.Context, dst io.Writer, src io.ReaderAt, size int64, o Options) (Stats, error) {
	if err := o.validate(); err != nil {
		return Stats{}, err
	}
	if size <= 0 {
		return Stats{}, fmt.Errorf("vmdk: disk size %d: want at least one byte", size)
	}
	capacity := ceilDiv(uint64(size), SectorSize)
	if capacity > maxCapacity {
		return Stats{}, fmt.Errorf("vmdk: disk of %d bytes exceeds the %d TiB this writer supports", size, maxCapacity*SectorSize>>40)
	}
	if o.Level == 0 {
		o.Level = DefaultLevel
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	desc, err := descriptorText(&o, capacity)
	if err != nil {
		return Stats{}, err
	}
	// Grains arrive a few KiB at a time; one buffer turns them into large
	// writes.
	bw := bufio.NewWriterSize(dst, 1<<20)
	w := &streamWriter{dst: bw, capacity: capacity}
	descSectors := ceilDiv(uint64(len(desc)), SectorSize)
	w.hdr = Header{
		Version: 3, Flags: streamFlags, Capacity: capacity, GrainSize: grainSectors,
		DescriptorOffset: 1, DescriptorSize: descSectors, NumGTEsPerGT: gtesPerGT,
		GDOffset: gdAtEnd, CompressAlgorithm: compressDeflate,
		// VMware starts the first grain on a grain boundary.
		OverHead: ceilDiv(1+descSectors, grainSectors) * grainSectors,
	}
	w.gd = make([]uint32, w.hdr.tables())
	if err := w.writeHead(desc); err != nil {
		return Stats{}, err
	}
	st, err := w.writeGrains(ctx, src, size, &o)
	if err != nil {
		return Stats{}, err
	}
	if err := w.writeTail(); err != nil {
		return Stats{}, err
	}
	if err := bw.Flush(); err != nil {
		return Stats{}, fmt.Errorf("vmdk: writing: %w", err)
	}
	st.Size = w.off
	st.Capacity = int64(capacity) * SectorSize
	return st, nil
}

// streamWriter lays the VMDK out; only Write's goroutine touches it.
type streamWriter struct {
	dst      io.Writer
	off      int64 // bytes written so far
	capacity uint64
	hdr      Header
	gd       []uint32 // grain directory: sector of each grain table, 0 = none
	gtIndex  int64    // grain table being filled, -1 when none
	gt       [gtesPerGT]uint32
}

var errTooBig = errors.New("vmdk: the compressed disk would exceed 2 TiB, the most a VMDK's 32-bit sector offsets can address")

func (w *streamWriter) write(b []byte) error {
	n, err := w.dst.Write(b)
	w.off += int64(n)
	if err != nil {
		return fmt.Errorf("vmdk: writing at byte %d: %w", w.off, err)
	}
	return nil
}

// sector is the current output position in sectors; the layout keeps it
// sector-aligned between blocks.
func (w *streamWriter) sector() (uint32, error) {
	s := w.off / SectorSize
	if s > 0xffffffff {
		return 0, errTooBig
	}
	return uint32(s), nil
}

func (w *streamWriter) writeHead(desc string) error {
	b := make([]byte, w.hdr.OverHead*SectorSize)
	copy(b, w.hdr.marshal())
	copy(b[SectorSize:], desc)
	w.gtIndex = -1
	return w.write(b)
}

// marker writes a metadata marker (grain table, directory, footer, EOS)
// announcing sectors of data after it.
func (w *streamWriter) marker(typ uint32, sectors uint64) error {
	var m [SectorSize]byte
	binary.LittleEndian.PutUint64(m[0:], sectors)
	binary.LittleEndian.PutUint32(m[12:], typ)
	return w.write(m[:])
}

// grain records a compressed grain (already framed and padded in buf) for
// grain number idx and writes it.
func (w *streamWriter) grain(idx uint64, buf []byte) error {
	if t := int64(idx / gtesPerGT); t != w.gtIndex {
		if err := w.flushGT(); err != nil {
			return err
		}
		w.gtIndex = t
	}
	s, err := w.sector()
	if err != nil {
		return err
	}
	w.gt[idx%gtesPerGT] = s
	return w.write(buf)
}

// flushGT writes the grain table being filled, after the grains it indexes,
// as VMware's stream writers do; tables with no grain are never written.
func (w *streamWriter) flushGT() error {
	if w.gtIndex < 0 {
		return nil
	}
	if err := w.marker(markerGT, gtesPerGT*4/SectorSize); err != nil {
		return err
	}
	s, err := w.sector()
	if err != nil {
		return err
	}
	w.gd[w.gtIndex] = s
	b := make([]byte, gtesPerGT*4)
	for i, v := range w.gt {
		binary.LittleEndian.PutUint32(b[i*4:], v)
	}
	w.gt = [gtesPerGT]uint32{}
	w.gtIndex = -1
	return w.write(b)
}

func (w *streamWriter) writeTail() error {
	if err := w.flushGT(); err != nil {
		return err
	}
	gdSectors := ceilDiv(uint64(len(w.gd))*4, SectorSize)
	if err := w.marker(markerGD, gdSectors); err != nil {
		return err
	}
	gdAt, err := w.sector()
	if err != nil {
		return err
	}
	b := make([]byte, gdSectors*SectorSize)
	for i, v := range w.gd {
		binary.LittleEndian.PutUint32(b[i*4:], v)
	}
	if err := w.write(b); err != nil {
		return err
	}
	if err := w.marker(markerFooter, 1); err != nil {
		return err
	}
	footer := w.hdr
	footer.GDOffset = uint64(gdAt)
	if err := w.write(footer.marshal()); err != nil {
		return err
	}
	return w.marker(markerEOS, 0)
}
