//go:build unix && !linux && !freebsd

package qemu

import "syscall"

// socketpair: macOS has no SOCK_CLOEXEC; holding ForkLock while the flags
// are set keeps another goroutine's fork from inheriting the ends, as the
// standard library does.
func socketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	return fds, nil
}
