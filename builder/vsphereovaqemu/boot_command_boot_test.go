package vsphereovaqemu

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
	"golang.org/x/crypto/ssh"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/bootimage"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// TestBootCommandTypesIntoGuest boots the test image under QEMU with its
// VNC console, has the guest read a line from its first virtual terminal
// (tty1, the VGA console the VNC server shows), and types that line with
// the step: the guest must read exactly what boot_command says, capitals
// and shifted symbols included.
func TestBootCommandTypesIntoGuest(t *testing.T) {
	bin := testenv.LookPath(t, "qemu-system-x86_64")
	qemuImg := testenv.LookPath(t, "qemu-img")
	img := bootimage.Get(t)
	overlay := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := qemu.CreateOverlay(context.Background(), qemuImg, img.Disk, "raw", overlay); err != nil {
		t.Fatal(err)
	}
	m, err := qemu.Start(context.Background(), qemu.Config{
		Binary: bin, Accelerator: "auto", MemoryMiB: 1024,
		Controllers: []qemu.Controller{{Type: qemu.SATA}}, Disks: []qemu.Disk{{Path: overlay}},
		ForwardPort: 22, VNCBindAddress: "127.0.0.1", Logf: t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Kill)
	c := dialGuest(t, m.HostPort, img)
	// getty would take the line. The reader opens tty1 before it says
	// ready: keys typed into a terminal nobody has open are dropped.
	if out, err := guestRun(c, "sudo systemctl stop getty@tty1"); err != nil {
		t.Fatalf("stopping getty on tty1: %v: %s", err, out)
	}
	read := make(chan string, 1)
	ready := make(chan struct{})
	go func() {
		out, err := guestReadLine(c, "sudo sh -c 'exec 3</dev/tty1; echo ready >&2; timeout 300 head -n1 <&3'", ready)
		if err != nil {
			out = fmt.Sprintf("error: %v: %s", err, out)
		}
		read <- out
	}()
	select {
	case <-ready:
	case out := <-read:
		t.Fatalf("the guest's tty1 reader ended early: %s", out)
	case <-time.After(2 * time.Minute):
		t.Fatal("the guest's tty1 reader did not start")
	}
	const typed = "Hello, VNC: {{ .Name }} at {{ .HTTPIP }}!"
	r := newStepRunner(t)
	r.state.Put("machine", m)
	cfg := &QEMUConfig{VNCConfig: bootcommand.VNCConfig{BootConfig: bootcommand.BootConfig{BootCommand: []string{typed, "<enter>"}, BootWait: time.Millisecond}}}
	r.must(&stepTypeBootCommand{config: cfg, vmName: "vm-1", ictx: &interpolate.Context{}})
	select {
	case got := <-read:
		if want := "Hello, VNC: vm-1 at 10.0.2.2!"; strings.TrimSpace(got) != want {
			t.Errorf("the guest read %q from tty1, want %q", got, want)
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("the guest read no line from tty1: the keys did not arrive")
	}
}

// dialGuest waits (up to 10 minutes: TCG on a loaded host) for the
// guest's sshd on the forwarded port.
func dialGuest(t *testing.T, port int, img *bootimage.Image) *ssh.Client {
	t.Helper()
	signer, err := ssh.ParsePrivateKey(img.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: img.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second} // a throwaway test guest
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Minute)
	for {
		c, err := ssh.Dial("tcp", addr, cfg)
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SSH on %s: %v", addr, err)
		}
		time.Sleep(2 * time.Second)
	}
}

// guestReadLine runs cmd, closes ready when its stderr says "ready", and
// returns its output.
func guestReadLine(c *ssh.Client, cmd string, ready chan<- struct{}) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	stderr, err := s.StderrPipe()
	if err != nil {
		return "", err
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
			}
		}
	}()
	out, err := s.Output(cmd)
	return string(out), err
}

func guestRun(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.Output(cmd)
	return string(out), err
}
