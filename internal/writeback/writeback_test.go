package writeback

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every byte lands in order across many windows, and Close returns once the
// writeback goroutine is done.
func TestWriterWritesEverything(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := New(f)
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	var want bytes.Buffer
	for i := range 3*Window/len(chunk) + 1 {
		chunk[0] = byte(i)
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("file has %d bytes, want %d identical", len(got), want.Len())
	}
}

// The pacing: each full Window is started as soon as it is written, the
// window before it is awaited only after that (so two windows are in flight
// and the writer never waits for the one it just filled), and the partial
// tail is left to the final fsync.
func TestWriterPacing(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []string
	rec := func(op string) func(*os.File, int64, int64) {
		return func(_ *os.File, off, n int64) {
			calls = append(calls, fmt.Sprintf("%s %d+%d", op, off/(1<<20), n/(1<<20)))
		}
	}
	w := newWriter(f, kernel{start: rec("start"), await: rec("await")})
	chunk := make([]byte, 3<<20) // windows end inside writes, not on their edges
	var total int
	for total < 3*Window+Window/2 {
		n, err := w.Write(chunk)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Windows are cut where the write that crossed the boundary ended: 33,
	// 33 and 33 MiB with 3 MiB writes and a 32 MiB window (MiB offsets+sizes).
	want := []string{"start 0+33", "start 33+33", "await 0+33", "start 66+33", "await 33+33"}
	if strings.Join(calls, ", ") != strings.Join(want, ", ") {
		t.Errorf("kernel calls:\n got %s\nwant %s", strings.Join(calls, ", "), strings.Join(want, ", "))
	}
}
