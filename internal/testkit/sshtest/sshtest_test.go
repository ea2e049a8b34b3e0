package sshtest

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func sshRun(t *testing.T, s *Server, command string) (string, error) {
	t.Helper()
	ssh := testenv.LookPath(t, "ssh")
	out, err := exec.Command(ssh, "-i", s.PrivateKeyPath, "-p", strconv.Itoa(s.Port),
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
		s.User+"@"+s.Host, command).CombinedOutput()
	return string(out), err
}

// TestChrootSudoUser proves sessions run inside the guest root (a file written
// over SSH appears under Root, not on the host) and sudo works for the user.
func TestChrootSudoUser(t *testing.T) {
	s := Start(t, Options{Chroot: true, User: "builder", Sudo: true})
	out, err := sshRun(t, s, "id -un && sudo -n id -u && sudo -n sh -c 'echo guest > /etc/sshtest-marker'")
	if err != nil {
		t.Fatalf("ssh: %v\n%s\nsshd: %s", err, out, s.Log())
	}
	if got := strings.Fields(out); len(got) != 2 || got[0] != "builder" || got[1] != "0" {
		t.Fatalf("want user builder and sudo uid 0, got %q", out)
	}
	data, err := os.ReadFile(s.Path("/etc/sshtest-marker"))
	if err != nil || string(data) != "guest\n" {
		t.Fatalf("marker not written in guest root: %q %v", data, err)
	}
	if _, err := os.Stat("/etc/sshtest-marker"); err == nil {
		t.Fatal("session escaped the guest root: /etc/sshtest-marker exists on the host")
	}
}

func TestChrootUserWithoutSudo(t *testing.T) {
	s := Start(t, Options{Chroot: true, User: "plain"})
	out, err := sshRun(t, s, "sudo -n true")
	if err == nil {
		t.Fatalf("sudo succeeded for a user without sudo rights: %s", out)
	}
	if !strings.Contains(out, "sudo") {
		t.Fatalf("expected a sudo error, got %q", out)
	}
}

func TestDebianMirrorFromApt(t *testing.T) {
	m, err := DebianMirror()
	if err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	if !strings.HasPrefix(m, "http") && !strings.HasPrefix(m, "file:") {
		t.Fatalf("mirror %q is not a URL", m)
	}
}

// TestHostSSHD covers the non-chroot mode: the host's sshd, the host's root.
func TestHostSSHD(t *testing.T) {
	s := Start(t, Options{})
	out, err := sshRun(t, s, "id -u")
	if err != nil || strings.TrimSpace(out) != "0" {
		t.Fatalf("ssh as root: %v %q\nsshd: %s", err, out, s.Log())
	}
	if s.Root != "" {
		t.Fatalf("Root set without Chroot: %q", s.Root)
	}
}
