package main

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// evict drops each file from the page cache (posix_fadvise DONTNEED, after
// an fdatasync so no dirty page stays behind) and then proves it with
// mincore: it fails when more than 1% of a file is still resident, so a
// "cold" measurement is never silently warm. This is all the cold rounds
// need: no root, no global drop_caches, nobody else's cache touched.
func evict(files []string) error {
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		fd := int(f.Fd())
		_ = unix.Fdatasync(fd)
		err = unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED)
		if err == nil {
			var res, total int64
			res, total, err = resident(f)
			if err == nil && res*100 > total {
				err = fmt.Errorf("%s: %d of %d pages still in the page cache after posix_fadvise(DONTNEED)", name, res, total)
			}
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// resident counts the file's pages in the page cache.
func resident(f *os.File) (res, total int64, err error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return 0, 0, err
	}
	const window = 1 << 30 // map a GiB at a time: no address-space surprises
	page := int64(os.Getpagesize())
	for off := int64(0); off < fi.Size(); off += window {
		n := min(window, fi.Size()-off)
		m, err := unix.Mmap(int(f.Fd()), off, int(n), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return 0, 0, fmt.Errorf("mmap %s: %w", f.Name(), err)
		}
		vec := make([]byte, (n+page-1)/page)
		_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0])))
		unix.Munmap(m)
		if errno != 0 {
			err = errno
			return 0, 0, fmt.Errorf("mincore %s: %w", f.Name(), err)
		}
		for _, v := range vec {
			res += int64(v & 1)
		}
		total += int64(len(vec))
	}
	return res, total, nil
}
