//go:build unix && !linux && !freebsd

package qemu

import "syscall"

// setDeathSignal: macOS has no parent-death signal. A build that ends or is
// cancelled still kills QEMU's group (Machine.kill); only a plugin killed
// outright (SIGKILL) leaves QEMU to run until its guest powers off.
func setDeathSignal(*syscall.SysProcAttr) {}
