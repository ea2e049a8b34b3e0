//go:build !linux

package bootimage

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// The boot image is built on Linux (debootstrap, loop devices, mounts);
// elsewhere these stubs only let the tests' packages compile.
var errNeedsLinux = errors.New("building the boot image needs Linux")

func procAttr() *syscall.SysProcAttr { return nil }

func killGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }

func mountExt4(string, string) error { return errNeedsLinux }

func unmountOnce(string) error { return errNeedsLinux }

func unmountLazy(string) error { return errNeedsLinux }

func tryLock(*os.File) (bool, error) { return false, errNeedsLinux }

func unlock(*os.File) {}
