package disk

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

const sampleSize = 4 << 20

// sampleData is a 4 MiB disk: random bytes at the start, text across the
// middle, zeros elsewhere.
func sampleData() []byte {
	b := make([]byte, sampleSize)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 << 10 {
		b[i] = byte(r.Uint32())
	}
	copy(b[2<<20-77:], bytes.Repeat([]byte("ovakit disk sample "), 8<<10))
	return b
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// qemuImg runs qemu-img and fails the test when it exits non-zero.
func qemuImg(t testing.TB, prog string, args ...string) {
	t.Helper()
	if out, err := exec.Command(prog, args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// readsAs checks that r reads exactly as want.
func readsAs(t testing.TB, r io.ReaderAt, size int64, want []byte) {
	t.Helper()
	if size != int64(len(want)) {
		t.Fatalf("size %d, want %d", size, len(want))
	}
	got := make([]byte, len(want))
	if n, err := r.ReadAt(got, 0); n != len(got) || (err != nil && err != io.EOF) {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Fatalf("byte %d reads %#x, want %#x", i, got[i], want[i])
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// convertsTo writes d as a streamOptimized VMDK and checks that the VMDK
// reads as want.
func convertsTo(t testing.TB, d *Disk, want []byte) vmdk.Stats {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.vmdk")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := d.WriteStreamOptimized(context.Background(), f, vmdk.Options{CID: 1})
	if err != nil {
		t.Fatal(err)
	}
	im, err := vmdk.Open(f, st.Size)
	if err != nil {
		t.Fatal(err)
	}
	padded := append(want[:len(want):len(want)], make([]byte, (512-len(want)%512)%512)...)
	readsAs(t, im, im.Size(), padded)
	return st
}

// requireQemuImg is qemu-img's path, or a skip (always under -short).
func requireQemuImg(t testing.TB) string { t.Helper(); return testenv.LookPath(t, "qemu-img") }
