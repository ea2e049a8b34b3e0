package bootimage

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// The Linux mechanics the image build needs (mounts, flock, process groups
// that die with the test); sys_other.go lets the package compile elsewhere.

// procAttr: own process group, killed whole on cancel (killGroup), and
// killed if the test process dies.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd) error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

func mountExt4(dev, dir string) error { return syscall.Mount(dev, dir, "ext4", 0, "") }

func unmountOnce(dir string) error { return syscall.Unmount(dir, 0) }

// unmountLazy detaches a busy mount (MNT_DETACH).
func unmountLazy(dir string) error { return syscall.Unmount(dir, syscall.MNT_DETACH) }

// tryLock takes an exclusive flock without waiting: false, nil when another
// process holds it.
func tryLock(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

func unlock(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
