// Package disktest builds small disk images in Go, laid out as the format
// documents define them, for tests that must run without qemu-img (go test
// -short): QEMU's docs/interop/qcow2.txt, VMware's "Virtual Disk Format
// 5.0", Microsoft's VHD and VHDX specifications, VirtualBox's VDI header.
// Each image reads as zeros: the headers are real, the data is not the
// point. Tests with qemu-img at hand use qemu-img's own images instead.
package disktest

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// QCOW2 options; Version 0 means 3.
type QCOW2 struct {
	Version   uint32
	Size      uint64
	Backing   string
	Crypt     uint32
	Incompat  uint64
	Truncated bool // cut the header short
}

// Bytes is a qcow2 image with 64 KiB clusters and an empty L1 table in
// the second cluster: a disk of zeros that the native reader opens.
func (o QCOW2) Bytes() []byte {
	if o.Version == 0 {
		o.Version = 3
	}
	const cluster = 1 << 16
	l1 := (o.Size + cluster*cluster/8 - 1) / (cluster * cluster / 8)
	h := make([]byte, cluster+max(cluster, int(l1)*8))
	copy(h, "QFI\xfb")
	be := binary.BigEndian
	be.PutUint32(h[4:], o.Version)
	if o.Backing != "" {
		be.PutUint64(h[8:], 1024)
		be.PutUint32(h[16:], uint32(len(o.Backing)))
		copy(h[1024:], o.Backing)
	}
	be.PutUint32(h[20:], 16)
	be.PutUint64(h[24:], o.Size)
	be.PutUint32(h[32:], o.Crypt)
	be.PutUint32(h[36:], uint32(l1))
	be.PutUint64(h[40:], cluster)
	be.PutUint64(h[72:], o.Incompat)
	be.PutUint32(h[100:], 104)
	if o.Truncated {
		h = h[:40]
	}
	return h
}

// SparseVMDK is a streamOptimized-style sparse extent header (version 3,
// compressed, markers, grain directory at the end) with desc embedded at
// sector 1, as far as header readers look: no grains, no directory.
func SparseVMDK(capacitySectors uint64, desc string) []byte {
	h := make([]byte, 1024+len(desc))
	copy(h, "KDMV")
	le := binary.LittleEndian
	le.PutUint32(h[4:], 3)
	le.PutUint32(h[8:], 0x30001)
	le.PutUint64(h[12:], capacitySectors)
	le.PutUint64(h[20:], 128)
	le.PutUint32(h[44:], 512)        // grain table entries
	le.PutUint64(h[56:], ^uint64(0)) // grain directory at the end
	copy(h[73:], "\n \r\n")
	le.PutUint16(h[77:], 1) // DEFLATE
	if desc != "" {
		le.PutUint64(h[28:], 1)
		le.PutUint64(h[36:], uint64(len(desc)+511)/512)
		copy(h[512:], desc)
	}
	return h
}

// Descriptor is a VMDK text descriptor with the given extent lines.
func Descriptor(createType, parentCID string, extents ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=%s\ncreateType=%q\n\n# Extent description\n", parentCID, createType)
	for _, e := range extents {
		b.WriteString(e + "\n")
	}
	b.WriteString("\n# The Disk Data Base\n#DDB\n\nddb.adapterType = \"lsilogic\"\nddb.virtualHWVersion = \"4\"\n")
	return b.String()
}

// vhdFooter is a VHD footer (cookie, Current Size at 48, big-endian).
func vhdFooter(size uint64, diskType uint32) []byte {
	f := make([]byte, 512)
	copy(f, "conectix")
	be := binary.BigEndian
	be.PutUint64(f[40:], size) // Original Size
	be.PutUint64(f[48:], size) // Current Size
	be.PutUint32(f[60:], diskType)
	return f
}

// FixedVHD is a fixed VHD: size bytes of zeros and the footer.
func FixedVHD(size uint64) []byte {
	return append(make([]byte, size), vhdFooter(size, 2)...)
}

// DynamicVHD is the start of a dynamic VHD: its footer copy.
func DynamicVHD(size uint64) []byte {
	return append(vhdFooter(size, 3), make([]byte, 1024)...)
}

// VDI is a VirtualBox 1.1 header for a disk of size bytes.
func VDI(size uint64) []byte {
	h := make([]byte, 512)
	copy(h, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	le := binary.LittleEndian
	le.PutUint32(h[64:], 0xbeda107f)
	le.PutUint32(h[68:], 0x00010001)
	le.PutUint64(h[368:], size)
	return h
}

// VHDX is a VHDX's file identifier, region table and metadata table, up to
// the Virtual Disk Size item.
func VHDX(size uint64) []byte {
	const regions, meta = 192 << 10, 1 << 20
	b := make([]byte, meta+64<<10)
	copy(b, "vhdxfile")
	le := binary.LittleEndian
	copy(b[regions:], "regi")
	le.PutUint32(b[regions+8:], 1)
	copy(b[regions+16:], []byte{0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e})
	le.PutUint64(b[regions+32:], meta)
	le.PutUint32(b[regions+40:], 64<<10)
	copy(b[meta:], "metadata")
	le.PutUint16(b[meta+10:], 1)
	copy(b[meta+32:], []byte{0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8})
	le.PutUint32(b[meta+48:], 4096) // item offset in the region
	le.PutUint32(b[meta+52:], 8)
	le.PutUint64(b[meta+4096:], size)
	return b
}
