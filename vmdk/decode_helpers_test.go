package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zlib"
)

// memDisk is an io.WriterAt over a byte slice that records where each
// write landed.
type memDisk struct {
	mu   sync.Mutex
	b    []byte
	offs []int64
	fail int64 // a write reaching this offset fails (0: never)
}

func (m *memDisk) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail > 0 && off+int64(len(p)) > m.fail {
		return 0, errors.New("no space left on the test disk")
	}
	m.offs = append(m.offs, off)
	return copy(m.b[off:], p), nil
}

// decodeBytes runs DecodeTo on the stream b into memory.
func decodeBytes(b []byte, workers int) ([]byte, DecodeStats, error) {
	sr, err := NewStreamReader(bytes.NewReader(b))
	if err != nil {
		return nil, DecodeStats{}, err
	}
	m := &memDisk{b: make([]byte, sr.Size())}
	st, err := sr.DecodeTo(context.Background(), m, DecodeOptions{Workers: workers})
	return m.b, st, err
}

// readBytes reads the stream b with Read, the sequential path.
func readBytes(b []byte) ([]byte, error) {
	sr, err := NewStreamReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(sr)
}

// handGrain is one grain of a hand-made stream: data (at most a grain) is
// compressed as is, all-zero or not.
type handGrain struct {
	lba  uint64
	data []byte
}

// handStream lays out a streamOptimized stream: header, descriptor, the
// grains in the order given, the footer and the end-of-stream marker (no
// tables or directory, which the stream reader skips anyway). It returns the stream and each grain
// marker's offset.
func handStream(capacity uint64, grains []handGrain) ([]byte, []int64) {
	h := Header{Version: 3, Flags: streamFlags, Capacity: capacity, GrainSize: grainSectors,
		DescriptorOffset: 1, DescriptorSize: 1, NumGTEsPerGT: gtesPerGT, GDOffset: gdAtEnd, OverHead: 2,
		CompressAlgorithm: compressDeflate, NewlineOK: true}
	var out bytes.Buffer
	out.Write(h.marshal())
	out.Write(tinyDescriptor("streamOptimized", capacity))
	var at []int64
	for _, g := range grains {
		var z bytes.Buffer
		w, _ := zlib.NewWriterLevel(&z, 6)
		w.Write(g.data)
		w.Close()
		at = append(at, int64(out.Len()))
		m := binary.LittleEndian.AppendUint64(nil, g.lba)
		m = binary.LittleEndian.AppendUint32(m, uint32(z.Len()))
		m = append(m, z.Bytes()...)
		out.Write(append(m, make([]byte, (SectorSize-len(m)%SectorSize)%SectorSize)...))
	}
	out.Write(handTrailer(h))
	return out.Bytes(), at
}

// handTrailer is the end of a stream with the header h: footer marker,
// footer, end-of-stream marker.
func handTrailer(h Header) []byte {
	h.GDOffset = 1 // never read by the stream reader
	return slices.Concat(marker(1, markerFooter), h.marshal(), marker(0, markerEOS))
}

// textGrains is a disk of n grains of text, every grain stored.
func textGrains(n int) (disk []byte, grains []handGrain) {
	disk = textBytes(70, n*GrainSize)
	for g := range n {
		grains = append(grains, handGrain{uint64(g * grainSectors), disk[g*GrainSize : (g+1)*GrainSize]})
	}
	return disk, grains
}

// nonZeroBlocks is what DecodeTo must write of the raw disk (size bytes
// once rounded up to a sector): the bytes of its non-zero 4 KiB blocks. Only
// the raw file's data ranges (SEEK_DATA) are read.
func nonZeroBlocks(t testing.TB, raw string, size int64) int64 {
	t.Helper()
	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	next := dataRanges(f, fi.Size())
	blk := make([]byte, decodeBlock)
	var n, done int64 // done: blocks before it are counted
	for off := int64(0); ; {
		s, e, err := next(off)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
		for p := max(s/decodeBlock*decodeBlock, done); p < e; p += decodeBlock {
			b := blk[:min(decodeBlock, size-p)]
			clear(b)
			f.ReadAt(b, p)
			if !allZero(b) {
				n += int64(len(b))
			}
			done = p + decodeBlock
		}
		off = e
	}
}

// slowBatches delays the inflating of every other batch, so that batches
// finish out of order.
func slowBatches(t *testing.T, d time.Duration, slow func(batch int64) bool) {
	testHookInflate = func(lba int64) {
		if slow(lba / (batchGrains * grainSectors)) {
			time.Sleep(d)
		}
	}
	t.Cleanup(func() { testHookInflate = nil })
}

// slowStream delays every Read, so a cancellation lands mid-stream.
type slowStream struct {
	r     io.Reader
	reads atomic.Int64
}

func (s *slowStream) Read(p []byte) (int, error) {
	s.reads.Add(1)
	time.Sleep(time.Millisecond)
	return s.r.Read(p)
}

// cancelAt is an io.WriterAt that cancels after its nth write.
type cancelAt struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAt) WriteAt(p []byte, off int64) (int, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return len(p), nil
}

// genStream is a stream of n grains, all the same compressed grain,
// generated as it is read: a big disk without its bytes in memory.
type genStream struct {
	head  []byte // header and descriptor
	frame []byte // one grain's frame; its LBA is set as it is sent
	tail  []byte // footer and end-of-stream marker
	n, i  int
	cur   []byte
}

func newGenStream(grain []byte, n int) *genStream {
	b, at := handStream(uint64(n*grainSectors), []handGrain{{0, grain}})
	trailer := 3 * SectorSize
	return &genStream{head: b[:at[0]], frame: b[at[0] : len(b)-trailer], tail: b[len(b)-trailer:], n: n}
}

func (g *genStream) Read(p []byte) (int, error) {
	for len(g.cur) == 0 {
		switch {
		case g.head != nil:
			g.cur, g.head = g.head, nil
		case g.i < g.n:
			binary.LittleEndian.PutUint64(g.frame, uint64(g.i*grainSectors))
			g.cur = g.frame
			g.i++
		case g.i == g.n:
			g.cur = g.tail
			g.i++
		default:
			return 0, io.EOF
		}
	}
	n := copy(p, g.cur)
	g.cur = g.cur[n:]
	return n, nil
}

// slowDisk is an io.WriterAt that takes 5 ms per MiB and keeps nothing.
type slowDisk struct{}

func (slowDisk) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(time.Duration(len(p)) * 5 * time.Millisecond / (1 << 20))
	return len(p), nil
}
