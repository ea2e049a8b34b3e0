//go:build unix

package testenv

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// The helpers below let the test scaffolding that drives real programs stop
// them and everything they started, and compile on every release platform
// (make cross vets the tests too). The programs themselves (sshd,
// containerd, debootstrap, ...) run on Linux.

// SetProcessGroup makes cmd (not yet started) the leader of a process group
// of its own, so SignalGroup reaches it and its children.
func SetProcessGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// SignalGroup sends sig to the process group of cmd (started after
// SetProcessGroup).
func SignalGroup(cmd *exec.Cmd, sig syscall.Signal) error {
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// ProcessRuns says whether a process with this PID exists (signal 0 checks
// without signalling; EPERM means it exists but is someone else's).
func ProcessRuns(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// LockFile holds an exclusive lock on f (flock) until unlock.
func LockFile(f *os.File) (unlock func(), err error) {
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }, nil
}
