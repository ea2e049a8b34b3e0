package disk

import (
	"bytes"
	"encoding/binary"
	"io"
)

// VHDX (Microsoft's VHDX format specification v1.0): the region table at
// 192 KiB points to the metadata region, whose table points to the
// Virtual Disk Size item. GUIDs are stored in Windows' mixed-endian order.
var (
	vhdxMetadataRegion = []byte{0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f, 0x05, 0x0f, 0x88, 0x6e}
	vhdxVirtualSize    = []byte{0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe, 0xd8, 0x3b, 0xf4, 0xb8}
)

const (
	vhdxRegionTable = 192 << 10
	vhdxMaxEntries  = 2047 // the region and metadata tables' limit
)

// vhdxCapacity returns a VHDX's virtual disk size, 0 when its tables do not
// lead to one (qemu-img then says what it is).
func vhdxCapacity(r io.ReaderAt) int64 {
	le := binary.LittleEndian
	rt := make([]byte, 64<<10)
	if n, _ := r.ReadAt(rt, vhdxRegionTable); n < 16 || string(rt[:4]) != "regi" {
		return 0
	}
	var metaAt int64
	for i := range min(int(le.Uint32(rt[8:])), vhdxMaxEntries) {
		e := rt[16+32*i:]
		if len(e) >= 32 && bytes.Equal(e[:16], vhdxMetadataRegion) {
			metaAt = int64(le.Uint64(e[16:]))
		}
	}
	if metaAt <= 0 {
		return 0
	}
	mt := make([]byte, 64<<10)
	if n, _ := r.ReadAt(mt, metaAt); n < 32 || string(mt[:8]) != "metadata" {
		return 0
	}
	for i := range min(int(le.Uint16(mt[10:])), vhdxMaxEntries) {
		e := mt[32+32*i:]
		if len(e) >= 32 && bytes.Equal(e[:16], vhdxVirtualSize) {
			v := make([]byte, 8)
			if n, _ := r.ReadAt(v, metaAt+int64(le.Uint32(e[16:]))); n == 8 {
				return int64(le.Uint64(v))
			}
		}
	}
	return 0
}
