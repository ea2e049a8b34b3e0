package qemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/bootimage"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// These tests boot the real Debian image from internal/testkit/bootimage under QEMU
// (TCG on our CI hosts) with vSphere's device models, log in over SSH
// through the forwarded port, and power the guest off over ACPI.

// bootTimeout bounds boot-to-SSH: ~30-40 s on an idle host under TCG, but
// the CI machines are shared and often loaded many times over.
const bootTimeout = 10 * time.Minute

type bootEnv struct {
	img     *bootimage.Image
	bin     string
	overlay string
}

func newBootEnv(t *testing.T) *bootEnv {
	t.Helper()
	bin := testenv.LookPath(t, "qemu-system-x86_64")
	qemuImg := testenv.LookPath(t, "qemu-img")
	img := bootimage.Get(t)
	overlay := filepath.Join(t.TempDir(), "disk.qcow2")
	if err := CreateOverlay(context.Background(), qemuImg, img.Disk, "raw", overlay); err != nil {
		t.Fatal(err)
	}
	return &bootEnv{img: img, bin: bin, overlay: overlay}
}

// config is a machine on the overlay with one controller and one NIC.
func (e *bootEnv) config(t *testing.T, controller, nic string) Config {
	return Config{
		Binary: e.bin, Accelerator: "auto", CPUs: 1, MemoryMiB: 1024,
		Controllers: []Controller{{Type: controller}},
		Disks:       []Disk{{Path: e.overlay}},
		NICs:        []NIC{{Model: nic}},
		ForwardPort: 22,
		SerialLog:   filepath.Join(t.TempDir(), "serial.log"),
		Logf:        t.Logf,
	}
}

// boot starts the machine and waits for SSH; on failure it prints the end
// of the serial console.
func (e *bootEnv) boot(t *testing.T, cfg Config) (*Machine, *ssh.Client) {
	t.Helper()
	start := time.Now()
	m, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	c, err := waitSSH(ctx, m, e.img.User, e.img.PrivateKey)
	if err != nil {
		t.Fatalf("no SSH after %s: %v\nserial console (end):\n%s", time.Since(start).Round(time.Second), err, serialTail(m))
	}
	t.Cleanup(func() { c.Close() })
	t.Logf("boot to SSH (%s, %s, %s, %s): %s", cfg.Controllers[0].Type, cfg.NICs[0].Model, firmwareName(cfg), m.Accelerator, time.Since(start).Round(100*time.Millisecond))
	return m, c
}

func firmwareName(c Config) string {
	switch {
	case c.SecureBoot:
		return "efi+secureboot"
	case c.Firmware == "":
		return "bios"
	}
	return c.Firmware
}

func serialTail(m *Machine) string {
	data, _ := os.ReadFile(m.SerialLog)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// waitSSH dials the forwarded port until the guest's sshd accepts the key.
// QEMU's user network accepts the TCP connection itself even before the
// guest listens, so only a completed SSH handshake counts.
func waitSSH(ctx context.Context, m *Machine, user string, key []byte) (*ssh.Client, error) {
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		// A throw-away test guest; the host key is not what is tested.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         15 * time.Second,
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(m.HostPort))
	var last error
	for {
		c, err := ssh.Dial("tcp", addr, cfg)
		if err == nil {
			return c, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-m.Exited():
			return nil, fmt.Errorf("QEMU exited: %v", m.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

// sh runs a command in the guest and returns its trimmed output.
func sh(t *testing.T, c *ssh.Client, cmd string) string {
	t.Helper()
	out, err := shErr(c, cmd)
	if err != nil {
		t.Fatalf("guest: %s: %v\n%s", cmd, err, out)
	}
	return out
}

func shErr(c *ssh.Client, cmd string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	// Not a bytes.Buffer: the SSH library copies stdout and stderr in two
	// goroutines, and two concurrent bytes.Buffer.ReadFrom lose output.
	var out testenv.SyncBuffer
	s.Stdout, s.Stderr = &out, &out
	err = s.Run(cmd)
	return strings.TrimSpace(out.String()), err
}

// checkGuest asserts systemd runs as PID 1 and finished booting without a
// failed unit, and that the disk and NIC are driven by the expected drivers.
func checkGuest(t *testing.T, c *ssh.Client, diskDriver, nicDriver string) {
	t.Helper()
	if comm := sh(t, c, "cat /proc/1/comm"); comm != "systemd" {
		t.Errorf("PID 1 is %q, want systemd", comm)
	}
	state, err := shErr(c, "timeout 300 systemctl is-system-running --wait")
	if state != "running" {
		failed, _ := shErr(c, "systemctl --failed --no-legend")
		t.Errorf("system state %q (%v), failed units:\n%s", state, err, failed)
	}
	for _, drv := range []string{diskDriver, nicDriver} {
		if out, err := shErr(c, "ls /sys/bus/pci/drivers/"+drv+" | grep -c '^0000:'"); err != nil || out == "0" {
			t.Errorf("no PCI device bound to driver %s in the guest (%v)", drv, err)
		}
	}
}

// checkX86_64v2 asserts the guest's CPU has the x86-64-v2 features RHEL 9
// kernels require (the default CPU model: QEMU's own, qemu64, has none of
// sse4_2, popcnt, ssse3 under TCG).
func checkX86_64v2(t *testing.T, c *ssh.Client, accel string) {
	t.Helper()
	flags := " " + sh(t, c, "grep -m1 '^flags' /proc/cpuinfo") + " "
	for _, f := range []string{"sse4_2", "popcnt", "ssse3", "cx16", "sse4_1"} {
		if !strings.Contains(flags, " "+f+" ") {
			t.Errorf("the guest CPU (%s) lacks %s, an x86-64-v2 feature:\n%s", accel, f, flags)
		}
	}
}

// powerOff presses the ACPI button and waits for QEMU to exit cleanly.
func powerOff(t *testing.T, m *Machine) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("ACPI shutdown: %v\nserial console (end):\n%s", err, serialTail(m))
	}
	t.Logf("ACPI power-off took %s", time.Since(start).Round(100*time.Millisecond))
	assertGone(t, m)
}

// TestBootPVSCSIVmxnet3RebootKeepsData: the vSphere default hardware. A
// marker written in the first boot is read back in a second boot of the
// same disk, so the power-off was clean and the writes reached the disk.
func TestBootPVSCSIVmxnet3RebootKeepsData(t *testing.T) {
	e := newBootEnv(t)
	cfg := e.config(t, PVSCSI, VMXNET3)
	m, c := e.boot(t, cfg)
	checkGuest(t, c, "vmw_pvscsi", "vmxnet3")
	if !bytes.Contains(mustRead(t, m.SerialLog), []byte("Linux version")) {
		t.Errorf("the serial log does not show the kernel booting (console=ttyS0):\n%s", serialTail(m))
	}
	b := make([]byte, 8)
	rand.Read(b)
	marker := hex.EncodeToString(b)
	sh(t, c, "echo "+marker+" | sudo tee /var/lib/ovakit-marker >/dev/null")
	powerOff(t, m)

	m2, c2 := e.boot(t, cfg)
	if got := sh(t, c2, "cat /var/lib/ovakit-marker"); got != marker {
		t.Errorf("marker after reboot %q, want %q", got, marker)
	}
	powerOff(t, m2)
}

func TestBootAHCIE1000e(t *testing.T) {
	e := newBootEnv(t)
	m, c := e.boot(t, e.config(t, SATA, E1000E))
	checkGuest(t, c, "ahci", "e1000e")
	checkX86_64v2(t, c, m.Accelerator)
	powerOff(t, m)
}

func TestBootNVMe(t *testing.T) {
	e := newBootEnv(t)
	m, c := e.boot(t, e.config(t, NVMe, VMXNET3))
	checkGuest(t, c, "nvme", "vmxnet3")
	powerOff(t, m)
}

// TestBootEFISecureBoot boots the same disk under OVMF with Microsoft's keys
// and Secure Boot enforced: shim, GRUB and the kernel are all signed. NVMe:
// Debian's OVMF cannot boot from pvscsi (see firmwareWarning).
func TestBootEFISecureBoot(t *testing.T) {
	e := newBootEnv(t)
	cfg := e.config(t, NVMe, VMXNET3)
	cfg.Firmware, cfg.SecureBoot = "efi", true
	if _, _, err := findOVMF(&cfg); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	m, c := e.boot(t, cfg)
	checkGuest(t, c, "nvme", "vmxnet3")
	// SecureBoot EFI variable: 4 attribute bytes, then 1 = enabled.
	sb := sh(t, c, "od -An -tu1 /sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c")
	if f := strings.Fields(sb); len(f) != 5 || f[4] != "1" {
		t.Errorf("Secure Boot not enabled in the guest: SecureBoot variable %q", sb)
	}
	powerOff(t, m)
}

// TestBootCancelled cancels the context while the kernel boots: QEMU is
// gone (checked by process group) and so are its files.
func TestBootCancelled(t *testing.T) {
	e := newBootEnv(t)
	cfg := e.config(t, PVSCSI, VMXNET3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(bootTimeout)
	for !bytes.Contains(mustRead(t, m.SerialLog), []byte("Linux version")) {
		if time.Now().After(deadline) {
			t.Fatalf("kernel did not start:\n%s", serialTail(m))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if procs := processesInGroup(m.PID); len(procs) == 0 {
		t.Fatal("QEMU not running before cancel")
	}
	cancel()
	select {
	case <-m.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("QEMU still running 10s after cancel")
	}
	assertGone(t, m)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return data
}
