package vmdk

import (
	"encoding/binary"
	"fmt"
)

// On-disk constants of hosted sparse extents ("Virtual Disk Format 5.0",
// open-vmdk vmware_vmdk.h).
const (
	SectorSize = 512

	magic = 0x564d444b // "KDMV" on disk

	// GrainSize is the grain this package writes: 128 sectors (64 KiB), what
	// every VMware stream writer uses.
	GrainSize    = 128 * SectorSize
	grainSectors = 128
	gtesPerGT    = 512 // grain table entries per grain table (2 KiB)

	flagValidNewline  = 1 << 0
	flagRedundantGT   = 1 << 1
	flagMagicGTE      = 1 << 2
	flagCompressed    = 1 << 16
	flagMarkers       = 1 << 17
	flagsIncompatMask = 0xffff0000

	// streamFlags is what VMware's stream writers set (no redundant table).
	streamFlags = flagValidNewline | flagCompressed | flagMarkers

	compressNone    = 0
	compressDeflate = 1

	// gdAtEnd in the header's gdOffset means "read the footer".
	gdAtEnd = ^uint64(0)

	markerEOS    = 0
	markerGT     = 1
	markerGD     = 2
	markerFooter = 3
	// markerProgress is sent by VMware's NFC writer to keep a slow upload
	// alive; it carries no data and readers skip it.
	markerProgress = 4

	headerSize      = SectorSize
	grainMarkerSize = 12 // uint64 lba + uint32 compressed size
)

// Header is a SparseExtentHeader (also used as the stream footer).
type Header struct {
	Version           uint32
	Flags             uint32
	Capacity          uint64 // sectors
	GrainSize         uint64 // sectors
	DescriptorOffset  uint64 // sectors
	DescriptorSize    uint64 // sectors
	NumGTEsPerGT      uint32
	RGDOffset         uint64 // sectors
	GDOffset          uint64 // sectors, or gdAtEnd
	OverHead          uint64 // sectors before the first grain
	UncleanShutdown   uint8
	CompressAlgorithm uint16
	// NewlineOK is false when the four newline-detection bytes were mangled
	// (a file moved through a text-mode transfer).
	NewlineOK bool
}

// marshal writes h as a 512-byte on-disk header.
func (h *Header) marshal() []byte {
	b := make([]byte, headerSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], magic)
	le.PutUint32(b[4:], h.Version)
	le.PutUint32(b[8:], h.Flags)
	le.PutUint64(b[12:], h.Capacity)
	le.PutUint64(b[20:], h.GrainSize)
	le.PutUint64(b[28:], h.DescriptorOffset)
	le.PutUint64(b[36:], h.DescriptorSize)
	le.PutUint32(b[44:], h.NumGTEsPerGT)
	le.PutUint64(b[48:], h.RGDOffset)
	le.PutUint64(b[56:], h.GDOffset)
	le.PutUint64(b[64:], h.OverHead)
	b[72] = h.UncleanShutdown
	copy(b[73:77], "\n \r\n")
	le.PutUint16(b[77:], h.CompressAlgorithm)
	return b
}

// parseHeader decodes a 512-byte header found at byte offset at. It checks
// only the magic; validate checks the rest.
func parseHeader(b []byte, at int64) (Header, error) {
	if len(b) < headerSize {
		return Header{}, formatErr(at, "sparse header truncated: %d of 512 bytes", len(b))
	}
	le := binary.LittleEndian
	if m := le.Uint32(b[0:]); m != magic {
		return Header{}, formatErr(at, "bad magic %#08x (want %#08x, \"KDMV\"): not a sparse VMDK extent", m, magic)
	}
	return Header{
		Version:           le.Uint32(b[4:]),
		Flags:             le.Uint32(b[8:]),
		Capacity:          le.Uint64(b[12:]),
		GrainSize:         le.Uint64(b[20:]),
		DescriptorOffset:  le.Uint64(b[28:]),
		DescriptorSize:    le.Uint64(b[36:]),
		NumGTEsPerGT:      le.Uint32(b[44:]),
		RGDOffset:         le.Uint64(b[48:]),
		GDOffset:          le.Uint64(b[56:]),
		OverHead:          le.Uint64(b[64:]),
		UncleanShutdown:   b[72],
		NewlineOK:         string(b[73:77]) == "\n \r\n",
		CompressAlgorithm: le.Uint16(b[77:]),
	}, nil
}

// Limits on header fields, so that no table is sized from an absurd value.
const (
	// maxCapacity is 256 TiB, well above vSphere's 62 TiB disk limit.
	maxCapacity = (256 << 40) / SectorSize
	// maxDescriptorSectors bounds the embedded descriptor (VMware writes
	// 1 to 20 sectors).
	maxDescriptorSectors = 2048
)

// validate checks the header of an extent whose file is fileSize bytes long
// (found at byte offset at, for error messages).
func (h *Header) validate(at, fileSize int64) error {
	if h.Version < 1 || h.Version > 3 {
		return formatErr(at+4, "unsupported sparse header version %d (want 1, 2 or 3)", h.Version)
	}
	if h.Flags&flagValidNewline != 0 && !h.NewlineOK {
		return formatErr(at+73, "newline-detection bytes are mangled: the file went through a text-mode (ASCII) transfer")
	}
	if unknown := h.Flags & flagsIncompatMask &^ (flagCompressed | flagMarkers); unknown != 0 {
		return formatErr(at+8, "unsupported incompatible flags %#x", unknown)
	}
	if h.Flags&flagMarkers != 0 && h.Flags&flagCompressed == 0 {
		return formatErr(at+8, "flags %#x: markers without compression", h.Flags)
	}
	if h.Flags&flagCompressed != 0 && h.CompressAlgorithm != compressDeflate {
		return formatErr(at+77, "unsupported compression algorithm %d (want 1, DEFLATE)", h.CompressAlgorithm)
	}
	if h.Capacity == 0 || h.Capacity > maxCapacity {
		return formatErr(at+12, "capacity %d sectors out of range (1 to %d)", h.Capacity, uint64(maxCapacity))
	}
	if h.GrainSize < 1 || h.GrainSize > grainSectors || h.GrainSize&(h.GrainSize-1) != 0 {
		return formatErr(at+20, "grain size %d sectors: want a power of two from 1 to 128", h.GrainSize)
	}
	if h.NumGTEsPerGT < 128 || h.NumGTEsPerGT > 1<<16 || h.NumGTEsPerGT&(h.NumGTEsPerGT-1) != 0 {
		return formatErr(at+44, "%d grain table entries per table: want a power of two from 128 to 65536", h.NumGTEsPerGT)
	}
	fileSectors := uint64(fileSize) / SectorSize
	if h.DescriptorSize > maxDescriptorSectors {
		return formatErr(at+36, "descriptor size %d sectors exceeds %d", h.DescriptorSize, maxDescriptorSectors)
	}
	if h.DescriptorSize > 0 && (h.DescriptorOffset == 0 || h.DescriptorOffset+h.DescriptorSize > fileSectors) {
		return formatErr(at+28, "descriptor at sector %d (+%d) lies outside the %d-sector file", h.DescriptorOffset, h.DescriptorSize, fileSectors)
	}
	if h.GDOffset != gdAtEnd && (h.GDOffset == 0 || h.GDOffset >= fileSectors) {
		return formatErr(at+56, "grain directory at sector %d lies outside the %d-sector file", h.GDOffset, fileSectors)
	}
	if h.OverHead > fileSectors {
		return formatErr(at+64, "overhead of %d sectors exceeds the %d-sector file", h.OverHead, fileSectors)
	}
	return nil
}

// grains is the number of grains covering the capacity.
func (h *Header) grains() uint64 { return ceilDiv(h.Capacity, h.GrainSize) }

// tables is the number of grain tables (grain directory entries).
func (h *Header) tables() uint64 { return ceilDiv(h.grains(), uint64(h.NumGTEsPerGT)) }

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

// FormatError says what is wrong with an input and at which byte offset.
type FormatError struct {
	Offset int64 // byte offset in the file (or stream) where the problem is
	Msg    string
	Format string // the image format; "" is VMDK
}

func (e *FormatError) Error() string {
	f := e.Format
	if f == "" {
		f = "VMDK"
	}
	return fmt.Sprintf("malformed %s at byte offset %d: %s", f, e.Offset, e.Msg)
}

func formatErr(at int64, format string, args ...any) error {
	return &FormatError{Offset: at, Msg: fmt.Sprintf(format, args...)}
}
