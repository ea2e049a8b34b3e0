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

// startWriteback asks the kernel to begin writing [off, off+n) to disk now.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// awaitWriteback waits until [off, off+n) is on disk, then drops it from the
// page cache: an OVA that is written once and read later by someone else
// should not push the rest of the machine's cache out.
func awaitWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n,
		unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_DONTNEED)
}
