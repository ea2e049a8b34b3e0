//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package atomicfile

import (
	"errors"
	"os"
	"syscall"
)

// locksSupported: flock exists here, so stale files can be told apart.
const locksSupported = true

// lock takes f's exclusive flock, held until f is closed (or the process
// ends, however it ends).
func lock(f *os.File) error {
	return flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
}

// tryLock takes p's lock if no one holds it: free reports whether it did;
// release drops it. A file that cannot be opened is an error.
func tryLock(p string) (release func(), free bool, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, false, err
	}
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return func() { f.Close() }, true, nil
}

func flock(f *os.File, how int) error {
	c, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := c.Control(func(fd uintptr) {
		for {
			if ferr = syscall.Flock(int(fd), how); !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
