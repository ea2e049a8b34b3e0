package vmdk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// QCOW2 is a qcow2 image (version 2 or 3) read natively: the active L1/L2
// tables, standard, zero and zlib-compressed clusters. Images this reader
// refuses (backing files, encryption, external data files, extended L2
// entries, zstd) can go through qemu-img instead (see disk.Open).
// It is safe for concurrent use.
type QCOW2 struct {
	r           io.ReaderAt
	fileSize    int64
	size        int64
	clusterBits uint32
	cluster     int64
	l2Entries   uint64
	l1          []uint64
	zstd        bool

	mu       sync.Mutex
	l2       map[uint64][]uint64 // bounded cache of L2 tables
	cacheIdx int64
	cached   []byte // last compressed cluster inflated
	scratch  []byte
	inflate  inflater
}

// ErrUnsupportedQCOW2 wraps the reasons the native reader refuses an image
// that qemu-img can still read.
var ErrUnsupportedQCOW2 = errors.New("qcow2 feature not supported by the native reader")

const (
	qcowMagic = 0x514649fb // "QFI\xfb"

	qcowIncompatDirty    = 1 << 0
	qcowIncompatCorrupt  = 1 << 1
	qcowIncompatExtData  = 1 << 2
	qcowIncompatCompress = 1 << 3
	qcowIncompatExtL2    = 1 << 4

	qcowOffsetMask = 0x00fffffffffffe00
	qcowCompressed = 1 << 62
	qcowZeroFlag   = 1

	// qemu's own limit on the L1 table (QCOW_MAX_L1_SIZE, 32 MiB).
	maxL1Entries = 32 << 20 / 8
	// maxCachedL2Bytes bounds the L2 tables kept in memory (a table is one
	// cluster, up to 2 MiB).
	maxCachedL2Bytes = 16 << 20
)

// QCOW2Header is what a qcow2 header says about the image as a whole
// (QEMU's docs/interop/qcow2.txt): enough to classify it without reading
// its tables.
type QCOW2Header struct {
	Version     uint32 // 2 or 3
	Size        int64  // virtual disk size in bytes
	BackingFile string // "" for a self-contained image
	CryptMethod uint32 // 0: not encrypted
	// Incompatible is a version 3 image's incompatible_features.
	Incompatible uint64
	raw          []byte // the header's first bytes, for OpenQCOW2
}

// Corrupt reports the corrupt bit, set by QEMU on an image it found broken.
func (h QCOW2Header) Corrupt() bool { return h.Incompatible&qcowIncompatCorrupt != 0 }

// ReadQCOW2Header reads and checks the header fields every qcow2 reader
// needs: magic, version, backing file name, virtual size, encryption.
func ReadQCOW2Header(r io.ReaderAt) (QCOW2Header, error) {
	h := make([]byte, 112)
	n, err := r.ReadAt(h, 0)
	if n < 72 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return QCOW2Header{}, fmt.Errorf("qcow2 header is truncated (%d bytes): %w", n, err)
	}
	h = h[:n]
	be := binary.BigEndian
	if be.Uint32(h) != qcowMagic {
		return QCOW2Header{}, qcowErr(0, "bad magic %#08x: not a qcow2 image", be.Uint32(h))
	}
	hd := QCOW2Header{Version: be.Uint32(h[4:]), CryptMethod: be.Uint32(h[32:]), raw: h}
	if hd.Version != 2 && hd.Version != 3 {
		return QCOW2Header{}, qcowErr(4, "version %d: want 2 or 3", hd.Version)
	}
	size := be.Uint64(h[24:])
	if size > maxCapacity*SectorSize {
		return QCOW2Header{}, qcowErr(24, "virtual size %d exceeds %d", size, uint64(maxCapacity*SectorSize))
	}
	hd.Size = int64(size)
	if off, l := be.Uint64(h[8:]), be.Uint32(h[16:]); off != 0 && l > 0 {
		if l > 1023 { // the spec's limit
			return QCOW2Header{}, qcowErr(16, "backing file name of %d bytes (the format allows 1023)", l)
		}
		name := make([]byte, l)
		if _, err := r.ReadAt(name, int64(off)); err != nil {
			return QCOW2Header{}, fmt.Errorf("qcow2: reading the backing file name: %w", err)
		}
		hd.BackingFile = string(name)
	}
	if hd.Version == 3 && len(h) >= 80 {
		hd.Incompatible = be.Uint64(h[72:])
	}
	return hd, nil
}

// OpenQCOW2 reads a qcow2 header and its L1 table.
func OpenQCOW2(r io.ReaderAt, fileSize int64) (*QCOW2, error) {
	hd, err := ReadQCOW2Header(r)
	if err != nil {
		return nil, err
	}
	h, be := hd.raw, binary.BigEndian
	q := &QCOW2{r: r, fileSize: fileSize, l2: map[uint64][]uint64{}, cacheIdx: -1}
	if hd.BackingFile != "" {
		return nil, fmt.Errorf("%w: the image has a backing file %q (flatten it with qemu-img convert)", ErrUnsupportedQCOW2, hd.BackingFile)
	}
	q.clusterBits = be.Uint32(h[20:])
	if q.clusterBits < 9 || q.clusterBits > 21 {
		return nil, qcowErr(20, "cluster_bits %d out of range (9-21)", q.clusterBits)
	}
	q.cluster = 1 << q.clusterBits
	q.l2Entries = uint64(q.cluster / 8)
	size := uint64(hd.Size)
	q.size = hd.Size
	if hd.CryptMethod != 0 {
		return nil, fmt.Errorf("%w: the image is encrypted (crypt_method %d)", ErrUnsupportedQCOW2, hd.CryptMethod)
	}
	if hd.Version == 3 {
		if err := q.checkFeatures(h); err != nil {
			return nil, err
		}
	}
	l1Size := uint64(be.Uint32(h[36:]))
	need := ceilDiv(ceilDiv(size, uint64(q.cluster)), q.l2Entries)
	if l1Size < need || l1Size > maxL1Entries {
		return nil, qcowErr(36, "L1 table of %d entries for %d bytes (want %d to %d)", l1Size, size, need, maxL1Entries)
	}
	l1At := int64(be.Uint64(h[40:]))
	if l1At%q.cluster != 0 || l1At <= 0 || l1At > fileSize || int64(need)*8 > fileSize-l1At {
		return nil, qcowErr(40, "L1 table at %d (%d entries) is not a cluster boundary within the %d-byte file", l1At, need, fileSize)
	}
	raw := make([]byte, need*8)
	if err := readAt(r, raw, l1At, fileSize); err != nil {
		return nil, fmt.Errorf("qcow2: reading the L1 table: %w", err)
	}
	q.l1 = make([]uint64, need)
	for i := range q.l1 {
		e := be.Uint64(raw[i*8:]) & qcowOffsetMask
		if e%uint64(q.cluster) != 0 || int64(e)+q.cluster > fileSize {
			return nil, qcowErr(l1At+int64(i)*8, "L1 entry %d points to %d, outside the file or not cluster-aligned", i, e)
		}
		q.l1[i] = e
	}
	return q, nil
}

// checkFeatures refuses version 3 features this reader cannot honour.
func (q *QCOW2) checkFeatures(h []byte) error {
	be := binary.BigEndian
	if len(h) < 104 {
		return qcowErr(int64(len(h)), "version 3 header truncated")
	}
	incompat := be.Uint64(h[72:])
	switch {
	case incompat&qcowIncompatCorrupt != 0:
		return qcowErr(72, "the image is marked corrupt: run qemu-img check -r all first")
	case incompat&qcowIncompatExtData != 0:
		return fmt.Errorf("%w: the image keeps its data in an external file", ErrUnsupportedQCOW2)
	case incompat&qcowIncompatExtL2 != 0:
		return fmt.Errorf("%w: extended L2 entries (subclusters)", ErrUnsupportedQCOW2)
	case incompat&^(qcowIncompatDirty|qcowIncompatCompress) != 0:
		return fmt.Errorf("%w: incompatible features %#x", ErrUnsupportedQCOW2, incompat)
	}
	// compression_type (byte 104) exists when the header is that long.
	if incompat&qcowIncompatCompress != 0 && be.Uint32(h[100:]) > 104 && len(h) > 104 && h[104] != 0 {
		q.zstd = true
	}
	return nil
}

func qcowErr(at int64, format string, args ...any) error {
	return &FormatError{Offset: at, Msg: fmt.Sprintf(format, args...), Format: "qcow2"}
}

// Size is the virtual disk size in bytes.
func (q *QCOW2) Size() int64 { return q.size }

// entry returns the L2 entry of cluster c (0 when its L2 table is absent).
// Callers hold q.mu.
func (q *QCOW2) entry(c uint64) (uint64, error) {
	t := c / q.l2Entries
	if q.l1[t] == 0 {
		return 0, nil
	}
	l2, ok := q.l2[t]
	if !ok {
		raw := make([]byte, q.cluster)
		if err := readAt(q.r, raw, int64(q.l1[t]), q.fileSize); err != nil {
			return 0, fmt.Errorf("qcow2: reading L2 table %d: %w", t, err)
		}
		l2 = make([]uint64, q.l2Entries)
		for i := range l2 {
			l2[i] = binary.BigEndian.Uint64(raw[i*8:])
		}
		if int64(len(q.l2)+1)*q.cluster > maxCachedL2Bytes {
			clear(q.l2)
		}
		q.l2[t] = l2
	}
	return l2[c%q.l2Entries], nil
}

// allocated reports whether an L2 entry holds data (not unallocated, not
// the zero flag).
func allocated(e uint64) bool {
	if e&qcowCompressed != 0 {
		return true
	}
	return e&qcowOffsetMask != 0 && e&qcowZeroFlag == 0
}

// ReadAt reads the virtual disk; unallocated and zero clusters read as zeros.
func (q *QCOW2) ReadAt(p []byte, off int64) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return readBlocks("qcow2", p, off, q.size, q.cluster, q.readCluster)
}

func (q *QCOW2) readCluster(c uint64, in int64, dst []byte) error {
	e, err := q.entry(c)
	if err != nil {
		return err
	}
	if !allocated(e) {
		clear(dst)
		return nil
	}
	if e&qcowCompressed == 0 {
		at := int64(e & qcowOffsetMask)
		if at%q.cluster != 0 {
			return qcowErr(at, "cluster %d at %d is not cluster-aligned", c, at)
		}
		return readAt(q.r, dst, at+in, q.fileSize)
	}
	if q.cacheIdx != int64(c) {
		if err := q.inflateCluster(c, e); err != nil {
			q.cacheIdx = -1
			return err
		}
		q.cacheIdx = int64(c)
	}
	copy(dst, q.cached[in:])
	return nil
}

// inflateCluster decompresses a compressed cluster (raw DEFLATE) into q.cached.
func (q *QCOW2) inflateCluster(c, e uint64) error {
	if q.zstd {
		return fmt.Errorf("%w: zstd-compressed clusters", ErrUnsupportedQCOW2)
	}
	x := 62 - (q.clusterBits - 8)
	at := int64(e & (1<<x - 1))
	sectors := int64((e>>x)&(1<<(q.clusterBits-8)-1)) + 1
	end := min((at/SectorSize+sectors)*SectorSize, q.fileSize)
	if at >= end {
		return qcowErr(at, "compressed cluster %d lies outside the file", c)
	}
	if q.cached == nil {
		q.cached = make([]byte, q.cluster)
	}
	if int64(cap(q.scratch)) < end-at {
		q.scratch = make([]byte, end-at)
	}
	data := q.scratch[:end-at]
	if err := readAt(q.r, data, at, q.fileSize); err != nil {
		return err
	}
	n, err := q.inflate.run(q.cached, data, false)
	if err != nil {
		return qcowErr(at, "compressed cluster %d: corrupt DEFLATE data: %v", c, err)
	}
	// The sectors hold the stream and padding, so reading stops at the
	// stream's end or at a full cluster.
	if int64(n) != q.cluster && int64(c+1)*q.cluster <= q.size {
		return qcowErr(at, "compressed cluster %d inflates to %d bytes, want %d", c, n, q.cluster)
	}
	clear(q.cached[n:])
	return nil
}

// NextData implements SparseReaderAt from the L1/L2 tables.
func (q *QCOW2) NextData(off int64) (int64, int64, error) {
	off = max(off, 0)
	if off >= q.size {
		return 0, 0, io.EOF
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	clusters := ceilDiv(uint64(q.size), uint64(q.cluster))
	for c := uint64(off / q.cluster); c < clusters; {
		if q.l1[c/q.l2Entries] == 0 {
			c = (c/q.l2Entries + 1) * q.l2Entries
			continue
		}
		e, err := q.entry(c)
		if err != nil {
			return 0, 0, err
		}
		if !allocated(e) {
			c++
			continue
		}
		start := max(off, int64(c)*q.cluster)
		for c++; c < clusters; c++ {
			if e, err := q.entry(c); err != nil {
				return 0, 0, err
			} else if !allocated(e) {
				break
			}
		}
		return start, min(int64(c)*q.cluster, q.size), nil
	}
	return 0, 0, io.EOF
}
