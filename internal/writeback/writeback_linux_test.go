//go:build linux

package writeback

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// New drops each written-out window from the page cache; NewKeepCache
// leaves it there for the writer's own read-back. Resident pages are
// counted with mincore(2) once the writer is closed.
func TestKeepCacheLeavesPagesResident(t *testing.T) {
	for _, c := range []struct {
		name    string
		new     func(*os.File) *Writer
		atLeast float64 // fraction of the file's pages resident
		atMost  float64
	}{
		{"New", New, 0, 0.5},
		{"NewKeepCache", NewKeepCache, 0.9, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "out"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w := c.new(f)
			chunk := make([]byte, 1<<20)
			for i := range chunk {
				chunk[i] = byte(i)
			}
			for range 4 * Window / len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := residentFraction(t, f); got < c.atLeast || got > c.atMost {
				t.Errorf("%.2f of the file's pages are cached, want %.2f..%.2f", got, c.atLeast, c.atMost)
			}
		})
	}
}

func residentFraction(t *testing.T, f *os.File) float64 {
	t.Helper()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return float64(n) / float64(len(vec))
}
