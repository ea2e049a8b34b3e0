package k3sbundle

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/k3sstandin"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/registrytest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// TestPackerBuildBadInput runs each bad input through real Packer and SSH
// and checks for a clear error and an untouched guest.
func TestPackerBuildBadInput(t *testing.T) {
	testenv.Require(t, testenv.Packer, "real Packer, sshd and registry")
	env := packertest.New(t)
	reg := registrytest.Start(t)
	fx := registrytest.PushFixtures(t, reg, 4<<10)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downHost := l.Addr().String()
	l.Close() // nothing listens here any more: a registry that is down

	cases := []struct {
		name  string
		opts  sshtest.Options
		setup func(t *testing.T, s *sshtest.Server, m *mirror)
		body  string
		want  []string
	}{
		{name: "checksum mismatch", setup: func(t *testing.T, s *sshtest.Server, m *mirror) {
			m.Set("/"+testVersion+"/k3s", []byte("#!/bin/sh\n# tampered stand-in\n"))
		}, want: []string{"checksum mismatch for k3s downloaded from", "the checksum file says"}},
		{name: "guest without systemd", setup: func(t *testing.T, s *sshtest.Server, m *mirror) {
			for _, p := range []string{"/usr/bin/systemctl", "/bin/systemctl"} {
				os.Remove(s.Path(p))
			}
		}, want: []string{"guest has no systemd (systemctl not found)"}},
		{name: "user without sudo", opts: sshtest.Options{Chroot: true, User: "nosudo"},
			want: []string{"exited with status 1", "sudo"}},
		{name: "unknown image", body: fmt.Sprintf("images = [%q]", reg.Host+"/no/such-image:1.0"),
			want: []string{reg.Host + "/no/such-image:1.0"}},
		{name: "registry down", body: fmt.Sprintf("images = [%q]", downHost+"/app:1.0"),
			want: []string{downHost + "/app:1.0"}},
		{name: "failure mid-install rolls back", setup: func(t *testing.T, s *sshtest.Server, m *mirror) {
			// /etc/rancher as a file makes placing registries.yaml fail after
			// the binary and images were already placed.
			os.WriteFile(s.Path("/etc/rancher"), []byte("in the way\n"), 0o644)
		}, body: fmt.Sprintf("registries = %q", "REGISTRIES"), want: []string{"k3s-bundle: cannot create folder /etc/rancher/k3s"}},
		{name: "verify names missing image", setup: func(t *testing.T, s *sshtest.Server, m *mirror) {
			os.WriteFile(s.Path(k3sstandin.ImagesListPath), []byte("docker.io/library/other:1\n"), 0o644)
		}, body: fmt.Sprintf("images = [%q]\nverify = true\nverify_timeout = \"5s\"", fx.AppA),
			want: []string{"verify: image(s) not listed by 'k3s ctr -n k8s.io images ls' after 5s: " + fx.AppA}},
		// Under systemd, a k3s that never reports ready must fail verify
		// within verify_timeout, not block `systemctl start` for ever.
		{name: "k3s never ready under systemd", setup: func(t *testing.T, s *sshtest.Server, m *mirror) {
			if err := os.MkdirAll(s.Path("/run/systemd/system"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s.Path("/usr/bin/systemctl"), []byte(standinSystemctl), 0o755); err != nil {
				t.Fatal(err)
			}
		}, body: "verify = true\nverify_timeout = \"5s\"",
			want: []string{"verify: k3s.service not active after 5s (state activating): k3s never reported ready to systemd"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.User == "" {
				opts = sshtest.Options{Chroot: true, User: "builder", Sudo: true}
			}
			s := sshtest.Start(t, opts)
			m := defaultMirror(t)
			if tc.setup != nil {
				tc.setup(t, s, m)
			}
			body := tc.body
			if strings.Contains(body, "REGISTRIES") {
				p := filepath.Join(t.TempDir(), "registries.yaml")
				os.WriteFile(p, []byte("mirrors: {}\n"), 0o600)
				body = strings.ReplaceAll(body, "REGISTRIES", p)
			}
			dir := writeTemplate(t, s, m, body)
			if res := env.Run(t.Context(), dir, "init", "."); res.ExitCode != 0 {
				t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
			}
			res := runGuarded(t, env, dir)
			if res.ExitCode == 0 {
				t.Fatalf("build succeeded; output:\n%s", res.Output)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Output, w) {
					t.Errorf("output lacks %q:\n%s", w, res.Output)
				}
			}
			assertNotInstalled(t, s)
			if tc.name == "failure mid-install rolls back" {
				if data, _ := os.ReadFile(s.Path("/etc/rancher")); string(data) != "in the way\n" {
					t.Errorf("rollback changed a file it did not create: /etc/rancher = %q", data)
				}
			}
		})
	}
}

// runGuarded runs `packer build` in dir and kills its whole process group
// after 3 minutes: a guard against a hang (a verify blocked on `systemctl
// start`), not a time limit. Packer re-executes itself (panicwrap), so
// killing only the first process would leave the build holding the output.
func runGuarded(t *testing.T, env *packertest.Env, dir string) packertest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var out testenv.SyncBuffer
	cmd := env.Command(ctx, dir, &out, "build", "-color=false", ".")
	packertest.SetProcessGroup(cmd)
	cmd.Cancel = func() error { return packertest.Kill(cmd) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Errorf("packer build hung: killed after 3 minutes")
	}
	res := packertest.Result{Output: out.String(), Err: err, ExitCode: -1}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	return res
}

// TestPackerBuildInterruptRollsBack interrupts `packer build` (SIGINT, as
// Ctrl-C) while verify waits for an image the stand-in never lists, and
// checks the guest is rolled back: nothing installed, no identity, no staging.
func TestPackerBuildInterruptRollsBack(t *testing.T) {
	testenv.Require(t, testenv.Packer, "real Packer, sshd and registry")
	env := packertest.New(t)
	s := sshtest.Start(t, sshtest.Options{Chroot: true, User: "builder", Sudo: true})
	m := defaultMirror(t)
	reg := registrytest.Start(t)
	fx := registrytest.PushFixtures(t, reg, 4<<10)
	dir := writeTemplate(t, s, m, fmt.Sprintf("images = [%q]\nverify = true\nverify_timeout = \"5m\"", fx.AppA))
	if res := env.Run(t.Context(), dir, "init", "."); res.ExitCode != 0 {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	var out testenv.SyncBuffer
	cmd := env.Command(t.Context(), dir, &out, "build", "-color=false", ".")
	// Packer re-executes itself (panicwrap) and its parent ignores SIGINT:
	// like Ctrl-C in a terminal, signal the whole process group.
	packertest.SetProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for !strings.Contains(out.String(), "verify: starting k3s") {
		select {
		case err := <-exited:
			t.Fatalf("build ended before verify started: %v\n%s", err, out.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("verify did not start:\n%s", out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	// The stand-in has started and written its identity files by now.
	time.Sleep(2 * time.Second)
	if err := packertest.Interrupt(cmd); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(40 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("packer did not stop after SIGINT:\n%s", out.String())
	}
	if cmd.ProcessState.ExitCode() == 0 {
		t.Fatalf("interrupted build exited 0:\n%s", out.String())
	}
	t.Logf("packer output:\n%s", out.String())
	// Packer exits without waiting for plugins; the guest script notices the
	// closed connection at its next output (within ~10s) and rolls back.
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if _, err := os.Lstat(s.Path("/usr/local/bin/k3s")); err != nil {
			if m, _ := filepath.Glob(s.Path("/tmp/k3s-bundle-*")); len(m) == 0 {
				break
			}
		}
	}
	assertNotInstalled(t, s)
	for _, p := range []string{"/var/lib/rancher/k3s/server/token", "/etc/rancher/node/password"} {
		if _, err := os.Lstat(s.Path(p)); err == nil {
			t.Errorf("identity left after interrupt: %s", p)
		}
	}
}
