// Package leftover makes, for tests of atomicfile.RemoveStale's callers,
// what a run killed mid-write leaves behind (an unlocked temporary file or
// work folder, older than RemoveStale's grace period) and ages what a live
// run holds, so that only the lock tells the two apart.
package leftover

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
)

// File writes, in dir, the temporary file a run killed while writing final
// leaves (size bytes, unlocked, aged) and returns its path.
func File(t testing.TB, dir, final string, size int) string {
	t.Helper()
	p := filepath.Join(dir, "."+final+atomicfile.TempInfix+"killed")
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	Age(t, p)
	return p
}

// Folder makes the work folder path as a killed run leaves it: its owner
// lock file, which nobody holds, and one file of size bytes; aged.
func Folder(t testing.TB, path string, size int) {
	t.Helper()
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{atomicfile.OwnerLock: 0, "disk-0.raw": size} {
		if err := os.WriteFile(filepath.Join(path, name), make([]byte, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	Age(t, path)
}

// Age sets each path's modification time a minute back, past RemoveStale's
// grace period for files a run has created but not locked yet.
func Age(t testing.TB, paths ...string) {
	t.Helper()
	old := time.Now().Add(-time.Minute)
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}
