package disk

import (
	"bytes"
	"encoding/binary"
	"io"
	"strings"
)

// Format is a disk image format, named as qemu-img's -f names it.
type Format string

// Disk image formats.
const (
	FormatRaw   Format = "raw"
	FormatQCOW2 Format = "qcow2"
	FormatVMDK  Format = "vmdk"
	// Formats read only through qemu-img.
	FormatVHD       Format = "vpc"
	FormatVHDX      Format = "vhdx"
	FormatVDI       Format = "vdi"
	FormatQED       Format = "qed"
	FormatParallels Format = "parallels"
)

// Native reports whether the plugin reads the format itself; the others
// go through qemu-img.
func (f Format) Native() bool {
	return f == FormatRaw || f == FormatQCOW2 || f == FormatVMDK
}

// maxDescriptor bounds a VMDK text descriptor (read whole): VMware writes
// one sector or a few; 1 MiB is far beyond any real one.
const maxDescriptor = 1 << 20

// headSize is how much of a file sniff looks at.
const headSize = 4096

// Magic numbers at the start of the file, and where a format has its
// virtual size (capacity reads it from there).
var magics = []struct {
	magic  string
	at     int
	format Format
}{
	{"KDMV", 0, FormatVMDK}, // SparseExtentHeader.magicNumber 0x564d444b, little-endian
	{"COWD", 0, FormatVMDK}, // ESX 2/3 sparse, which only qemu-img reads
	{"QFI\xfb", 0, FormatQCOW2},
	{"vhdxfile", 0, FormatVHDX},
	{"conectix", 0, FormatVHD}, // dynamic VHD: a copy of the footer first
	{"\x7f\x10\xda\xbe", 64, FormatVDI},
	{"QED\x00", 0, FormatQED},
	{"WithoutFreeSpace", 0, FormatParallels},
	{"WithouFreSpacExt", 0, FormatParallels},
}

// sniff says which format a file holds from its first bytes (head) and,
// for a fixed VHD, its last sector; anything else is raw.
func sniff(r io.ReaderAt, head []byte, size int64) Format {
	for _, m := range magics {
		if len(head) >= m.at+len(m.magic) && string(head[m.at:m.at+len(m.magic)]) == m.magic {
			return m.format
		}
	}
	if isDescriptor(head, size) {
		return FormatVMDK
	}
	if _, ok := vhdFooter(r, size); ok {
		return FormatVHD // a fixed VHD: raw data and a 512-byte footer
	}
	return FormatRaw
}

// isDescriptor recognises a VMDK text descriptor.
func isDescriptor(head []byte, size int64) bool {
	if size > maxDescriptor {
		return false
	}
	s := string(head)
	// qemu-img pads its descriptor files with NULs to a sector.
	return (strings.HasPrefix(s, "# Disk DescriptorFile") || strings.Contains(s, "\ncreateType=")) &&
		!bytes.ContainsRune(bytes.TrimRight(head, "\x00"), 0)
}

// vhdFooter reads a VHD footer from the last sector (Microsoft's VHD
// specification: cookie "conectix", Current Size at byte 48, big-endian).
func vhdFooter(r io.ReaderAt, size int64) ([]byte, bool) {
	if size < 512 {
		return nil, false
	}
	foot := make([]byte, 512)
	if n, _ := r.ReadAt(foot, size-512); n < 512 || string(foot[:8]) != "conectix" {
		return nil, false
	}
	return foot, true
}

// qemuImgCapacity reads the virtual size of a format only qemu-img reads,
// from where each keeps it; 0 when the header does not say.
func qemuImgCapacity(r io.ReaderAt, f Format, head []byte, size int64) int64 {
	le, be := binary.LittleEndian, binary.BigEndian
	switch f {
	case FormatVHD:
		if foot, ok := vhdFooter(r, size); ok {
			return int64(be.Uint64(foot[48:]))
		}
		if len(head) >= 56 { // a dynamic VHD's footer copy
			return int64(be.Uint64(head[48:]))
		}
	case FormatVDI:
		// VDI 1.1 header: version at 68, cbDisk at 368.
		if len(head) >= 376 && le.Uint32(head[68:]) == 0x00010001 {
			return int64(le.Uint64(head[368:]))
		}
	case FormatQED:
		if len(head) >= 56 {
			return int64(le.Uint64(head[48:]))
		}
	case FormatParallels:
		if len(head) >= 44 {
			return int64(le.Uint64(head[36:])) * 512
		}
	case FormatVHDX:
		return vhdxCapacity(r)
	}
	return 0
}
