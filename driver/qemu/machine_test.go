package qemu

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// These tests run real QEMU on a blank disk (no OS: SeaBIOS finds nothing
// to boot and waits), which is enough for the lifecycle and is fast.

func blankMachine(t *testing.T) Config {
	t.Helper()
	bin := testenv.LookPath(t, "qemu-system-x86_64")
	disk := filepath.Join(t.TempDir(), "blank.raw")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{
		Binary: bin, Accelerator: "tcg", MemoryMiB: 64,
		Controllers: []Controller{{Type: PVSCSI}},
		Disks:       []Disk{{Path: disk, Format: "raw"}},
		ForwardPort: 22,
		Logf:        t.Logf,
	}
}

// processesInGroup lists the live processes whose process group is pgid.
func processesInGroup(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces, so cut at ')'.
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 2 && fields[2] == strconv.Itoa(pgid) && fields[0] != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

func assertGone(t *testing.T, m *Machine) {
	t.Helper()
	if procs := processesInGroup(m.PID); len(procs) > 0 {
		t.Errorf("QEMU process group %d still has processes %v", m.PID, procs)
	}
	if _, err := os.Stat(m.WorkDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("work folder %s still exists (%v)", m.WorkDir, err)
	}
}

func TestMachineLifecycle(t *testing.T) {
	cfg := blankMachine(t)
	cfg.VNCBindAddress = "127.0.0.1"
	ctx := context.Background()
	m, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill()
	if m.Accelerator != "tcg" || m.HostPort == 0 {
		t.Errorf("accelerator %q, host port %d", m.Accelerator, m.HostPort)
	}
	if procs := processesInGroup(m.PID); len(procs) == 0 {
		t.Fatalf("no process in QEMU's group %d", m.PID)
	}
	st, err := m.Status(ctx)
	if err != nil || st != "running" {
		t.Fatalf("status %q, %v", st, err)
	}
	// The forwarded port is bound on 127.0.0.1 by QEMU.
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(m.HostPort)), 5*time.Second); err != nil {
		t.Errorf("forwarded port: %v", err)
	} else {
		c.Close()
	}
	// VNC listens on 127.0.0.1 only and speaks RFB.
	addr, err := m.VNCAddress(ctx)
	if err != nil || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("VNC address %q, %v", addr, err)
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("VNC: %v", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	banner, _ := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if !strings.HasPrefix(banner, "RFB ") {
		t.Errorf("VNC banner %q", banner)
	}
	// No OS answers the power button: Shutdown reports it, and does not kill.
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err = m.Shutdown(sctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "did not power off") {
		t.Fatalf("Shutdown of a guest that ignores ACPI: %v", err)
	}
	if st, err := m.Status(ctx); err != nil || st != "running" {
		t.Fatalf("after a failed Shutdown: status %q, %v (must still run)", st, err)
	}
	m.Kill()
	assertGone(t, m)
	if m.Err() == nil {
		t.Error("Err after Kill is nil")
	}
}

// TestStartCancelled: ending the context given to Start kills QEMU and
// removes its files.
func TestStartCancelled(t *testing.T) {
	cfg := blankMachine(t)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-m.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("QEMU still running 10s after cancel")
	}
	assertGone(t, m)
}

// TestStartFailsClearly: QEMU refusing its command line is an error carrying
// QEMU's message, and leaves no process and no files.
func TestStartFailsClearly(t *testing.T) {
	cfg := blankMachine(t)
	cfg.ExtraArgs = []string{"-device", "no-such-device"}
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), "ovakit-qemu-*"))
	_, err := Start(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no-such-device") {
		t.Fatalf("Start: %v", err)
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), "ovakit-qemu-*"))
	if len(after) > len(before) {
		t.Errorf("work folders left: before %v, after %v", before, after)
	}
}

// TestStartPortTaken: a fixed host port already in use is a clear error.
func TestStartPortTaken(t *testing.T) {
	cfg := blankMachine(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg.HostPort = l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), cfg)
	if !errors.Is(err, errPortTaken) || !strings.Contains(err.Error(), strconv.Itoa(cfg.HostPort)) {
		t.Fatalf("Start with a taken port: %v", err)
	}
}
