package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"

	"github.com/klauspost/compress/zlib"
)

// TestDecodeToRoundTrips: DecodeTo of each round-trip disk written by Write
// is the raw disk, in a file that stays sparse: only the non-zero 4 KiB
// blocks are written, so the holes (and the zero blocks inside grains) are
// not allocated.
func TestDecodeToRoundTrips(t *testing.T) {
	for _, c := range roundTrips() {
		t.Run(c.name, func(t *testing.T) {
			if c.heavy {
				testenv.Require(t, testenv.Large, "big sparse disk")
			}
			dir := t.TempDir()
			raw, vmdkPath, out := dir+"/disk.raw", dir+"/disk.vmdk", dir+"/out.raw"
			sparseFile(t, raw, c.size, c.chunks)
			writeVMDK(t, raw, vmdkPath, fixedIDs)
			in, err := os.Open(vmdkPath)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			sr, err := NewStreamReader(in)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := sr.DecodeTo(context.Background(), f, DecodeOptions{Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(sr.Size()); err != nil {
				t.Fatal(err)
			}
			sameDisk(t, f, sr.Size(), raw)
			wantGrains, _ := nonZeroGrains(t, raw, c.size)
			want := nonZeroBlocks(t, raw, sr.Size())
			if st.Grains != wantGrains || st.Written != want {
				t.Errorf("stats %+v, want %d grains and %d bytes written", st, wantGrains, want)
			}
			if a := allocatedBytes(t, out); a > st.Written+64*kib {
				t.Errorf("the output allocates %d bytes for %d written: holes were filled", a, st.Written)
			}
			if n, err := sr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Errorf("Read after DecodeTo: %d, %v (want 0, EOF)", n, err)
			}
		})
	}
}

// TestDecodeToHoles: an all-zero grain stored in the stream and the zero
// blocks of a half-empty grain become holes; SEEK_DATA finds only the data.
func TestDecodeToHoles(t *testing.T) {
	text := textBytes(71, GrainSize)
	half := append(make([]byte, GrainSize/2), text[:GrainSize/2]...)
	b, _ := handStream(8*grainSectors, []handGrain{
		{0, make([]byte, GrainSize)},
		{grainSectors, half},
		{3 * grainSectors, text},
	})
	p := tempPath(t, "out.raw")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr, err := NewStreamReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sr.DecodeTo(context.Background(), f, DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(sr.Size())
	got := make([]byte, sr.Size())
	f.ReadAt(got, 0)
	want := make([]byte, sr.Size())
	copy(want[GrainSize:], half)
	copy(want[3*GrainSize:], text)
	if !bytes.Equal(got, want) {
		t.Fatal("decoded disk differs")
	}
	if fileDataRanges(f, sr.Size()) != nil {
		next := dataRanges(f, sr.Size())
		var ranges [][2]int64
		for off := int64(0); ; {
			s, e, err := next(off)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			ranges = append(ranges, [2]int64{s, e})
			off = e
		}
		if len(ranges) != 2 || ranges[0] != [2]int64{GrainSize + GrainSize/2, 2 * GrainSize} || ranges[1] != [2]int64{3 * GrainSize, 4 * GrainSize} {
			t.Fatalf("data ranges %v, want [%d %d] and [%d %d]", ranges, GrainSize+GrainSize/2, 2*GrainSize, 3*GrainSize, 4*GrainSize)
		}
	} else {
		t.Log("this filesystem does not support SEEK_DATA: holes checked by the stats only")
	}
	if st.Grains != 3 || st.Written != GrainSize/2+GrainSize {
		t.Fatalf("stats %+v, want 3 grains and %d bytes written", st, GrainSize/2+GrainSize)
	}
}

// TestDecodeToOrder: batches finish out of order (even ones are slow), yet
// DecodeTo writes in disk order and the disk is whole.
func TestDecodeToOrder(t *testing.T) {
	disk, grains := textGrains(10 * batchGrains)
	b, _ := handStream(uint64(len(disk)/SectorSize), grains)
	slowBatches(t, 20*time.Millisecond, func(n int64) bool { return n%2 == 0 })
	sr, err := NewStreamReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m := &memDisk{b: make([]byte, sr.Size())}
	if _, err := sr.DecodeTo(context.Background(), m, DecodeOptions{Workers: 4}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(m.offs); i++ {
		if m.offs[i] <= m.offs[i-1] {
			t.Fatalf("write %d at %d follows a write at %d: not in disk order", i, m.offs[i], m.offs[i-1])
		}
	}
	if !bytes.Equal(m.b, disk) {
		t.Fatal("decoded disk differs")
	}
}

// TestDecodeToErrorsLikeRead: damage anywhere fails DecodeTo with the error
// Read gives (same message, same offset), the first in stream order even
// when a later batch fails first; nothing at or after the bad grain is
// written.
func TestDecodeToErrorsLikeRead(t *testing.T) {
	disk, grains := textGrains(8 * batchGrains)
	// The end of the disk is a hole: Read goes on to the end-of-stream
	// marker.
	disk = append(disk, make([]byte, GrainSize)...)
	good, at := handStream(uint64(len(disk)/SectorSize), grains)
	corrupt := func(b []byte, g int) { // flips the middle of grain g's data
		for i := at[g] + 40; i < at[g]+140; i++ {
			b[i] ^= 0x5a
		}
	}
	le := binary.LittleEndian
	cases := []struct {
		name   string
		mutate func([]byte) []byte
		want   string
		first  int // the bad grain (-1: none)
	}{
		{"corrupt grain, a later one fails first", func(b []byte) []byte { corrupt(b, 2*batchGrains+5); corrupt(b, 5*batchGrains+1); return b }, "corrupt DEFLATE", 2*batchGrains + 5},
		{"grain inflates short", func(b []byte) []byte {
			var z bytes.Buffer
			w, _ := zlib.NewWriterLevel(&z, 6)
			w.Write(disk[:GrainSize/2])
			w.Close()
			le.PutUint32(b[at[3*batchGrains]+8:], uint32(z.Len()))
			copy(b[at[3*batchGrains]+12:], z.Bytes())
			return b
		}, "inflates to 32768 bytes", 3 * batchGrains},
		{"grains out of order", func(b []byte) []byte { le.PutUint64(b[at[4*batchGrains+3]:], 0); return b }, "out of disk order", 4*batchGrains + 3},
		{"marker beyond capacity", func(b []byte) []byte { le.PutUint64(b[at[6*batchGrains]:], 1<<30); return b }, "LBA 1073741824", 6 * batchGrains},
		{"unknown marker", func(b []byte) []byte { le.PutUint32(b[len(b)-512+12:], 9); return b }, "unknown marker type 9", -1},
		{"truncated mid-grain", func(b []byte) []byte { return b[:at[7*batchGrains+2]+700] }, "truncated", 7*batchGrains + 2},
		{"truncated before the end-of-stream marker", func(b []byte) []byte { return b[:len(b)-512] }, "truncated", -1},
		{"truncated after the header", func(b []byte) []byte { return b[:3*512] }, "truncated", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The bad grain's batch is slow: the later batches finish
			// before it.
			if c.first >= 0 {
				slowBatches(t, 30*time.Millisecond, func(n int64) bool { return n == int64(c.first/batchGrains) })
			}
			decodeFailsLikeRead(t, c.mutate(append([]byte(nil), good...)), disk, c.first, c.want)
		})
	}
}

// decodeFailsLikeRead checks that DecodeTo of b (the stream of disk,
// damaged at grain first, or -1 past every grain) fails with a FormatError
// containing want, Read's error, without writing anything from the bad
// grain on but everything before its batch.
func decodeFailsLikeRead(t *testing.T, b, disk []byte, first int, want string) {
	t.Helper()
	_, rerr := readBytes(b)
	sr, err := NewStreamReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	m := &memDisk{b: make([]byte, sr.Size())}
	_, derr := sr.DecodeTo(context.Background(), m, DecodeOptions{Workers: 4})
	var fe *FormatError
	if derr == nil || !strings.Contains(derr.Error(), want) || !errors.As(derr, &fe) {
		t.Fatalf("DecodeTo: %v, want a FormatError with %q", derr, want)
	}
	if rerr == nil || rerr.Error() != derr.Error() {
		t.Fatalf("DecodeTo: %v\nRead:     %v", derr, rerr)
	}
	if first >= 0 {
		limit := int64(first) * GrainSize
		for _, off := range m.offs {
			if off >= limit {
				t.Fatalf("wrote at %d, at or after the bad grain at %d", off, limit)
			}
		}
		batchStart := int64(first/batchGrains*batchGrains) * GrainSize
		if !bytes.Equal(m.b[:batchStart], disk[:batchStart]) {
			t.Fatal("the grains before the failing batch were not written")
		}
	}
	if _, err := sr.Read(make([]byte, 1)); err == nil || err.Error() != derr.Error() {
		t.Fatalf("Read after a failed DecodeTo: %v", err)
	}
}

// TestDecodeToCancel: cancelling stops the reader, the inflaters and the
// writer promptly, and every goroutine ends.
func TestDecodeToCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	disk, grains := textGrains(20 * batchGrains)
	b, _ := handStream(uint64(len(disk)/SectorSize), grains)
	src := &slowStream{r: bytes.NewReader(b)}
	sr, err := NewStreamReader(src)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = sr.DecodeTo(ctx, &cancelAt{n: 3, cancel: cancel}, DecodeOptions{Workers: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled DecodeTo returned %v", err)
	}
	// 3 batches written, at most 2*2+1 batches in flight: 2 reads a grain.
	if n, all := src.reads.Load(), int64(2*len(grains)); n > 2*12*batchGrains {
		t.Fatalf("%d of %d reads done after cancelling at the 3rd batch: the reader did not stop", n, all)
	}
	waitGoroutines(t, before)
}

// TestDecodeToMisuse: DecodeTo after Read, twice, and a failing destination.
func TestDecodeToMisuse(t *testing.T) {
	disk, grains := textGrains(3 * batchGrains)
	b, _ := handStream(uint64(len(disk)/SectorSize), grains)
	sr, _ := NewStreamReader(bytes.NewReader(b))
	sr.Read(make([]byte, 10))
	if _, err := sr.DecodeTo(context.Background(), &memDisk{b: make([]byte, len(disk))}, DecodeOptions{}); err == nil {
		t.Fatal("DecodeTo after Read succeeded")
	}
	sr, _ = NewStreamReader(bytes.NewReader(b))
	m := &memDisk{b: make([]byte, len(disk))}
	if _, err := sr.DecodeTo(context.Background(), m, DecodeOptions{}); err != nil || !bytes.Equal(m.b, disk) {
		t.Fatalf("DecodeTo: %v", err)
	}
	if _, err := sr.DecodeTo(context.Background(), m, DecodeOptions{}); err == nil {
		t.Fatal("a second DecodeTo succeeded")
	}
	before := runtime.NumGoroutine()
	sr, _ = NewStreamReader(bytes.NewReader(b))
	_, err := sr.DecodeTo(context.Background(), &memDisk{b: make([]byte, len(disk)), fail: 20 * GrainSize}, DecodeOptions{})
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), "writing the disk at byte") {
		t.Fatalf("write error: %v", err)
	}
	waitGoroutines(t, before)
}

// TestDecodeToForeignStreams: qemu-img's and VMDKstream's streams decode as
// Read decodes them.
func TestDecodeToForeignStreams(t *testing.T) {
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	q := dir + "/q.vmdk"
	run(t, qemuImg(t), "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, q)
	v := dir + "/v.vmdk"
	run(t, requireVMDKstream(t), "-c", "import sys, VMDKstream; VMDKstream.convert_to_stream(sys.argv[1], sys.argv[2])", raw, v)
	for _, p := range []string{q, v} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := decodeBytes(b, 3)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		sameDisk(t, bytes.NewReader(got), int64(len(got)), raw)
	}
}

// TestDecodeToBoundedMemory: decoding 512 MiB into a slow destination keeps
// the heap small: the reader waits for free batches instead of running
// ahead.
func TestDecodeToBoundedMemory(t *testing.T) {
	testenv.Require(t, testenv.Large, "512 MiB decode")
	if raceEnabled {
		t.Skip("512 MiB decode: too slow under -race")
	}
	sr, err := NewStreamReader(newGenStream(randomBytes(80, GrainSize), 8192))
	if err != nil {
		t.Fatal(err)
	}
	var st DecodeStats
	p := heapGrowth(func() { st, err = sr.DecodeTo(context.Background(), slowDisk{}, DecodeOptions{Workers: 4}) })
	if err != nil || st.Written != 8192*GrainSize {
		t.Fatalf("DecodeTo: %+v, %v", st, err)
	}
	if p > 64<<20 {
		t.Fatalf("heap grew by %d MiB decoding 512 MiB", p>>20)
	}
	t.Logf("heap grew by at most %d MiB", p>>20)
}
