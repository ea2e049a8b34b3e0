//go:build linux

package ova

import (
	"os"

	"golang.org/x/sys/unix"
)

// preallocate reserves the OVA's final size up front (one extent map, and
// ENOSPC before any work rather than at the end). Best effort.
func preallocate(f *os.File, size int64) {
	if size > 0 {
		_ = unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, size)
	}
}

// adviseSequential doubles the kernel's readahead for a file read start to end.
func adviseSequential(f *os.File) {
	_ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
}
