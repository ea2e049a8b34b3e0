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

// startWriteback asks the kernel to begin writing [off, off+n) to disk now.
// Without it a multi-GiB OVA sits dirty in the page cache (below the
// background threshold on big-memory hosts) and the whole flush happens in
// the final fsync, after all hashing; this overlaps the two. Best effort.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
