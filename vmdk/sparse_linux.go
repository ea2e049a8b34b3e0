package vmdk

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// fileDataRanges finds data with lseek(SEEK_DATA/SEEK_HOLE). It returns nil
// when the filesystem cannot tell (the caller then reads everything).
func fileDataRanges(f *os.File, size int64) func(off int64) (int64, int64, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	seek := func(off int64, whence int) (int64, error) {
		var pos int64
		var serr error
		if err := rc.Control(func(fd uintptr) { pos, serr = unix.Seek(int(fd), off, whence) }); err != nil {
			return 0, err
		}
		return pos, serr
	}
	if _, err := seek(0, unix.SEEK_DATA); err != nil && !errors.Is(err, unix.ENXIO) {
		return nil // EINVAL: SEEK_DATA unsupported here
	}
	return func(off int64) (int64, int64, error) {
		if off >= size {
			return 0, 0, io.EOF
		}
		start, err := seek(off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			return 0, 0, io.EOF // only a hole until the end
		}
		if err != nil {
			return 0, 0, err
		}
		if start >= size {
			return 0, 0, io.EOF
		}
		end, err := seek(start, unix.SEEK_HOLE)
		if err != nil {
			return 0, 0, err
		}
		return start, min(end, size), nil
	}
}
