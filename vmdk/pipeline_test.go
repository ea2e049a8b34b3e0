package vmdk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// mixedDisk is 3 MiB of text, random data and zeros, in memory.
func mixedDisk() []byte {
	b := make([]byte, 3*mib+333)
	copy(b, textBytes(30, int(mib)))
	copy(b[mib+GrainSize:], randomBytes(31, int(mib)))
	copy(b[5*mib/2+5:], textBytes(32, int(mib/2)))
	return b
}

// TestWriteDeterministicAcrossWorkers: the output order is fixed whatever
// the number of workers (run with -race to check the pipeline).
func TestWriteDeterministicAcrossWorkers(t *testing.T) {
	disk := mixedDisk()
	var first []byte
	for _, workers := range []int{1, 2, 3, 8, 16} {
		o := fixedIDs
		o.Workers = workers
		var out bytes.Buffer
		st, err := Write(context.Background(), &out, bytes.NewReader(disk), int64(len(disk)), o)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size != int64(out.Len()) {
			t.Fatalf("Stats.Size %d, wrote %d", st.Size, out.Len())
		}
		if first == nil {
			first = out.Bytes()
			im := mustOpen(t, first)
			got := make([]byte, len(disk))
			if _, err := im.ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, disk) {
				t.Fatal("round trip differs")
			}
			continue
		}
		if !bytes.Equal(out.Bytes(), first) {
			t.Fatalf("%d workers wrote different bytes than 1 worker", workers)
		}
	}
}

// TestWriteLevels: every level round-trips, and higher levels are not bigger
// on text.
func TestWriteLevels(t *testing.T) {
	disk := mixedDisk()
	var sizes []int64
	for _, level := range []int{1, 5, 9} {
		o := fixedIDs
		o.Level = level
		var out bytes.Buffer
		st, err := Write(context.Background(), &out, bytes.NewReader(disk), int64(len(disk)), o)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(disk))
		if _, err := mustOpen(t, out.Bytes()).ReadAt(got, 0); err != nil || !bytes.Equal(got, disk) {
			t.Fatalf("level %d: round trip failed (%v)", level, err)
		}
		sizes = append(sizes, st.Size)
	}
	if !(sizes[0] > sizes[1] && sizes[1] >= sizes[2]) {
		t.Fatalf("sizes by level 1, 5, 9: %v", sizes)
	}
	if _, err := Write(context.Background(), io.Discard, bytes.NewReader(disk), 10, Options{Level: 10}); err == nil {
		t.Fatal("level 10 accepted")
	}
}

// slowReader delays every read so a cancellation lands mid-conversion.
type slowReader struct {
	r     io.ReaderAt
	reads atomic.Int64
}

func (s *slowReader) ReadAt(p []byte, off int64) (int, error) {
	s.reads.Add(1)
	time.Sleep(200 * time.Microsecond)
	return s.r.ReadAt(p, off)
}

func TestWriteCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	disk := bytes.Repeat(textBytes(40, int(mib)), 64) // 64 batches of 1 MiB
	ctx, cancel := context.WithCancel(context.Background())
	src := &slowReader{r: bytes.NewReader(disk)}
	var progressed atomic.Int64
	o := Options{Workers: 4, Progress: func(done, total int64) {
		if progressed.Add(1) == 3 {
			cancel()
		}
	}}
	_, err := Write(ctx, io.Discard, src, int64(len(disk)), o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Write returned %v", err)
	}
	// 3 batches written, at most 2*4+1 queued and 4 being read.
	if n := src.reads.Load(); n > 16 {
		t.Fatalf("%d of 64 batches read after cancelling at the 3rd: the pipeline did not stop", n)
	}
	waitGoroutines(t, before)
}

type failingReader struct{ at int64 }

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		return 0, errors.New("disk on fire")
	}
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

type failingWriter struct{ left int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.left < len(p) {
		return 0, errors.New("no space left")
	}
	f.left -= len(p)
	return len(p), nil
}

func TestWriteErrors(t *testing.T) {
	before := runtime.NumGoroutine()
	_, err := Write(context.Background(), io.Discard, failingReader{at: 5 * GrainSize}, 10*GrainSize, Options{})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "at byte 0") {
		t.Fatalf("read error: %v", err)
	}
	_, err = Write(context.Background(), &failingWriter{left: 70 * 1024}, failingReader{at: 1 << 40}, 100*GrainSize, Options{})
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("write error: %v", err)
	}
	_, err = Write(context.Background(), io.Discard, bytes.NewReader(nil), 0, Options{})
	if err == nil {
		t.Fatal("empty disk accepted")
	}
	if _, err := Write(context.Background(), io.Discard, bytes.NewReader(nil), 1, Options{AdapterType: "pvscsi"}); err == nil {
		t.Fatal("adapter type pvscsi accepted (hardware.AdapterTypeFor maps it)")
	}
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	for i := 0; i < 100 && runtime.NumGoroutine() > before; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines left running (before: %d)", n, before)
	}
}

// TestWriteBoundedMemory: converting 1 GiB of data keeps the heap small.
func TestWriteBoundedMemory(t *testing.T) {
	testenv.Require(t, testenv.Large, "1 GiB conversion")
	if raceEnabled {
		t.Skip("1 GiB conversion: too slow under -race")
	}
	// Random data: compression is fast and the output as big as the input,
	// so the destination below is the bottleneck.
	src := repeatReader{block: randomBytes(50, int(mib))}
	// A slow destination: finished batches must wait instead of piling up.
	var err error
	p := heapGrowth(func() { _, err = Write(context.Background(), slowWriter{}, src, gib, Options{Level: 1}) })
	if err != nil {
		t.Fatal(err)
	}
	if p > 64<<20 {
		t.Fatalf("heap grew by %d MiB converting 1 GiB", p>>20)
	}
	t.Logf("heap grew by at most %d MiB", p>>20)
}

type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(len(p)) * 10 * time.Millisecond / (1 << 20))
	return len(p), nil
}

// repeatReader is an endless disk repeating block.
type repeatReader struct{ block []byte }

func (r repeatReader) ReadAt(p []byte, off int64) (int, error) {
	for n := 0; n < len(p); {
		n += copy(p[n:], r.block[(off+int64(n))%int64(len(r.block)):])
	}
	return len(p), nil
}
