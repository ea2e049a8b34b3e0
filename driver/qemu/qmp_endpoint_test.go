package qemu

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// useTCPEndpoint runs the test with the portable QMP endpoint (Windows'),
// which Linux would not otherwise use.
func useTCPEndpoint(t *testing.T) {
	old := newQMPEndpoint
	newQMPEndpoint = tcpEndpoint
	t.Cleanup(func() { newQMPEndpoint = old })
}

// TestMachineTCPQMP: QEMU connects to our 127.0.0.1 listener as its QMP
// client, and the machine runs, answers and dies as with the socketpair.
func TestMachineTCPQMP(t *testing.T) {
	cfg := blankMachine(t)
	useTCPEndpoint(t)
	var cmdline string
	cfg.Logf = func(f string, a ...any) {
		if strings.HasPrefix(f, "qemu: %s %s") {
			cmdline = a[1].(string)
		}
		t.Logf(f, a...)
	}
	m, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Kill()
	if !strings.Contains(cmdline, "-chardev socket,id=qmp,host=127.0.0.1,port=") {
		t.Errorf("QMP chardev is not the 127.0.0.1 client: %s", cmdline)
	}
	if st, err := m.Status(t.Context()); err != nil || st != "running" {
		t.Fatalf("status %q, %v", st, err)
	}
	m.Kill()
	assertGone(t, m)
}

// TestStartFailsFastTCPQMP: QEMU exiting before it connects ends the wait at
// once (not after the minute the greeting may take). A program that exits
// at once stands in for a QEMU that fails before opening its chardevs.
func TestStartFailsFastTCPQMP(t *testing.T) {
	cfg := blankMachine(t)
	useTCPEndpoint(t)
	cfg.Binary = testenv.LookPath(t, "false")
	start := time.Now()
	_, err := Start(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "exited before its QMP greeting") {
		t.Fatalf("Start: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Start took %s to see QEMU exit", d)
	}
}

// A listener nobody connects to gives up when the context ends.
func TestTCPEndpointCancelled(t *testing.T) {
	ep, err := tcpEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer ep.release()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := ep.connect(ctx); err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("connect without QEMU: %v", err)
	}
}
