//go:build unix

package qemu

import (
	"os"
	"syscall"
)

// procAttr puts QEMU in its own process group, so killTree reaches anything
// it starts, and where the kernel offers it (Linux, FreeBSD) has QEMU
// killed when the thread that started it dies: nothing outlives a build.
func procAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	setDeathSignal(a)
	return a
}

// killTree sends SIGKILL to p's process group.
func killTree(p *os.Process) error {
	return syscall.Kill(-p.Pid, syscall.SIGKILL)
}

// guardProcess has nothing to do on Unix: procAttr did it before the start.
func guardProcess(*os.Process) (release func(), err error) {
	return func() {}, nil
}
