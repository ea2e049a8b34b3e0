//go:build linux || freebsd

package qemu

import "syscall"

// socketpair creates both ends close-on-exec in one call: only the end
// handed to QEMU through ExtraFiles reaches it.
func socketpair() ([2]int, error) {
	return syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
}
