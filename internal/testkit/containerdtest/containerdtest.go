// Package containerdtest runs a private, real containerd for tests: its own
// config, root, state and unix socket under temporary folders (never the
// system's /run/containerd), with the CRI, runtime and other plugins a
// pure image import does not need disabled so it starts fast in a sandbox.
// It needs root.
package containerdtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Containerd is a running containerd.
type Containerd struct {
	// Address is the unix socket path (for `ctr --address`).
	Address string
	// Root and State are containerd's folders.
	Root, State string
	// Ctr is the path of the ctr program.
	Ctr string

	log *testenv.SyncBuffer
}

// disabled lists the plugins an image import does not use; several of them
// also touch host folders (/opt/containerd) or need cgroups or kernel
// features a sandbox lacks.
var disabled = []string{
	"io.containerd.grpc.v1.cri",
	"io.containerd.internal.v1.opt",
	"io.containerd.internal.v1.tracing",
	"io.containerd.tracing.processor.v1.otlp",
	"io.containerd.monitor.v1.cgroups",
	"io.containerd.runtime.v1.linux",
	"io.containerd.runtime.v2.task",
	"io.containerd.runtime.v2.shim",
	"io.containerd.service.v1.tasks-service",
	"io.containerd.grpc.v1.tasks",
	"io.containerd.snapshotter.v1.aufs",
	"io.containerd.snapshotter.v1.btrfs",
	"io.containerd.snapshotter.v1.devmapper",
	"io.containerd.snapshotter.v1.zfs",
	"io.containerd.snapshotter.v1.overlayfs",
}

// Snapshotter is the only snapshotter left enabled; pass it to ctr.
const Snapshotter = "native"

// Start runs containerd as root and stops it (killing its process group)
// at cleanup. Missing programs or non-root skip the test, or fail it under
// OVAKIT_STRICT=1; `go test -short` skips it too.
func Start(t testing.TB) *Containerd {
	t.Helper()
	testenv.Require(t, testenv.Root, "real containerd")
	bin := testenv.LookPath(t, "containerd")
	ctr := testenv.LookPath(t, "ctr")
	dir := t.TempDir()
	// unix socket paths are limited to 108 bytes: keep the socket in a
	// short folder of its own.
	sockDir, err := os.MkdirTemp("/tmp", "ctd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	c := &Containerd{
		Address: filepath.Join(sockDir, "c.sock"),
		Root:    filepath.Join(dir, "root"),
		State:   filepath.Join(sockDir, "state"),
		Ctr:     ctr,
		log:     &testenv.SyncBuffer{},
	}
	cfg := fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = ["%s"]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  address = ""
  level = "warn"

[metrics]
  address = ""
`, c.Root, c.State, strings.Join(disabled, `", "`), c.Address, c.Address+".ttrpc")
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = c.log, c.log
	testenv.SetProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting containerd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		testenv.SignalGroup(cmd, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			testenv.SignalGroup(cmd, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			t.Fatalf("containerd exited during start:\n%s", c.log.String())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, ctr, "--address", c.Address, "version").CombinedOutput()
		cancel()
		if err == nil && strings.Contains(string(out), "Server:") {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd not answering on %s within 20s: %v\n%s\nlog:\n%s", c.Address, err, out, c.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Run runs `ctr --address <socket> args...` and returns its combined
// output; a failure fails the test with that output and containerd's log.
func (c *Containerd) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.Try(args...)
	if err != nil {
		t.Fatalf("ctr %s: %v\n%s\ncontainerd log:\n%s", strings.Join(args, " "), err, out, c.log.String())
	}
	return out
}

// Try is Run without failing the test.
func (c *Containerd) Try(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Ctr, append([]string{"--address", c.Address}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Log is what containerd printed so far.
func (c *Containerd) Log() string { return c.log.String() }
