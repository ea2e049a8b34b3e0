//go:build unix

package vmdk

import (
	"syscall"
	"testing"
)

// allocatedBytes is what the file at p occupies on disk.
func allocatedBytes(t testing.TB, p string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}
