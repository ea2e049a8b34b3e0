package vmdk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// textBytes returns n bytes of compressible, text-like data.
func textBytes(seed uint64, n int) []byte {
	words := []string{"grain", "table", "directory", "marker", "footer", "stream", "sector", "vmdk", "disk", "export", "ovf", "the", "a", "of", "and"}
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(9) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

// sparseFile creates a file of size bytes, holes except for the chunks.
func sparseFile(t testing.TB, path string, size int64, chunks map[int64][]byte) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	for off, b := range chunks {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
}

// fixedIDs makes outputs reproducible.
var fixedIDs = Options{CID: 0x12345678, LongContentID: "0123456789abcdef0123456789abcdef"}

// writeVMDK converts the file src into dst with Write.
func writeVMDK(t testing.TB, src, dst string, o Options) Stats {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	st, err := Write(context.Background(), out, in, fi.Size(), o)
	if err != nil {
		t.Fatalf("Write %s: %v", src, err)
	}
	if ofi, err := out.Stat(); err != nil || ofi.Size() != st.Size {
		t.Fatalf("Stats.Size %d, file has %v (%v)", st.Size, ofi.Size(), err)
	}
	return st
}

// run runs a program and returns its combined output, failing the test
// when it exits non-zero.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sameDisk checks that a reads as the file at rawPath, visiting only the
// raw file's data (SEEK_DATA) and a few hole offsets, so that sparse
// multi-GiB disks compare quickly.
func sameDisk(t testing.TB, a io.ReaderAt, aSize int64, rawPath string) {
	t.Helper()
	f, err := os.Open(rawPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if want := (fi.Size() + 511) / 512 * 512; aSize != want && aSize != fi.Size() {
		t.Fatalf("size %d, want %d (raw %d rounded up to a sector)", aSize, want, fi.Size())
	}
	next := dataRanges(f, fi.Size())
	bufA := make([]byte, 1<<20)
	bufB := make([]byte, 1<<20)
	var prevEnd int64
	for off := int64(0); ; {
		s, e, err := next(off)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		checkZeros(t, a, prevEnd, s)
		for p := s; p < e; {
			n := min(int64(len(bufA)), e-p)
			if _, err := a.ReadAt(bufA[:n], p); err != nil && !(errors.Is(err, io.EOF) && p+n == aSize) {
				t.Fatalf("reading the VMDK at %d: %v", p, err)
			}
			if _, err := f.ReadAt(bufB[:n], p); err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if !bytes.Equal(bufA[:n], bufB[:n]) {
				t.Fatalf("disks differ in [%d, %d)", p, p+n)
			}
			p += n
		}
		prevEnd, off = e, e
	}
	checkZeros(t, a, prevEnd, aSize)
}

// checkZeros samples [from, to) of a for zeros: both ends and the middle.
func checkZeros(t testing.TB, a io.ReaderAt, from, to int64) {
	t.Helper()
	b := make([]byte, 4096)
	for _, p := range []int64{from, (from + to) / 2, to - int64(len(b))} {
		p = max(p, from)
		n := min(int64(len(b)), to-p)
		if n <= 0 {
			continue
		}
		if _, err := a.ReadAt(b[:n], p); err != nil && err != io.EOF {
			t.Fatalf("reading a hole at %d: %v", p, err)
		}
		if !bytes.Equal(b[:n], zeroGrain[:n]) {
			t.Fatalf("hole at %d does not read as zeros", p)
		}
	}
}

// program returns a real program's path. Tests that drive real programs
// skip under -short (make unit); a missing program skips or fails them per
// testenv.
func program(t testing.TB, name string) string {
	t.Helper()
	return testenv.LookPath(t, name)
}

func qemuImg(t testing.TB) string { t.Helper(); return program(t, "qemu-img") }

// requireVMDKstream skips/fails unless Debian's python3-vmdkstream is there.
func requireVMDKstream(t testing.TB) string {
	t.Helper()
	testenv.Require(t, testenv.RealProgram, "drives python3-vmdkstream")
	// Debian's module lives in /usr/lib/python3/dist-packages, which only
	// the system python3 sees (not a pyenv or venv one first on PATH).
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", "import VMDKstream").Run(); err == nil {
			return py
		}
	}
	testenv.Unavailable(t, "python3 module VMDKstream (Debian package python3-vmdkstream) not installed")
	return ""
}

func tempPath(t testing.TB, name string) string { return filepath.Join(t.TempDir(), name) }

// heapGrowth runs f and returns by how much the heap in use grew at most
// while it ran, sampled every 20 ms, over its size after a GC before f
// (earlier tests' garbage must not count).
func heapGrowth(f func()) uint64 {
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		}
	}()
	f()
	close(stop)
	<-done
	return peak - min(peak, base.HeapInuse)
}
