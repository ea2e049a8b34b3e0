package packertest

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// The cancel tests stop `packer build` as Ctrl-C in a terminal does: SIGINT
// to the whole process group. Packer re-executes itself under panicwrap,
// whose parent ignores SIGINT, so signalling packer's own PID alone would
// not reach the build.

// SetProcessGroup makes cmd (not yet started) the leader of a process group
// of its own, so Interrupt and Kill reach packer and its children.
func SetProcessGroup(cmd *exec.Cmd) { testenv.SetProcessGroup(cmd) }

// Interrupt sends SIGINT to the process group of cmd (started after
// SetProcessGroup).
func Interrupt(cmd *exec.Cmd) error { return testenv.SignalGroup(cmd, syscall.SIGINT) }

// Kill sends SIGKILL to the process group of cmd (started after
// SetProcessGroup), for a test that gives up on it.
func Kill(cmd *exec.Cmd) error { return testenv.SignalGroup(cmd, syscall.SIGKILL) }

// InterruptOn starts cmd (a packer build) in its own process group and
// interrupts it delay after a line of its output contains line. It returns
// the output, whether the signal was sent, and how cmd ended; the test
// fails if packer has not exited within timeout.
func InterruptOn(t testing.TB, cmd *exec.Cmd, line string, delay, timeout time.Duration) (string, bool, error) {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	SetProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var output strings.Builder
	signalled := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			output.WriteString(sc.Text() + "\n")
			if !signalled && strings.Contains(sc.Text(), line) {
				signalled = true
				// Not a sleep here: the output keeps draining meanwhile.
				time.AfterFunc(delay, func() { _ = Interrupt(cmd) })
			}
		}
	}()
	werr := make(chan error, 1)
	go func() { werr <- cmd.Wait(); pw.Close() }()
	var err error
	select {
	case err = <-werr:
	case <-time.After(timeout):
		_ = Kill(cmd)
		t.Fatalf("packer did not exit within %s of starting", timeout)
	}
	<-done
	return output.String(), signalled, err
}
