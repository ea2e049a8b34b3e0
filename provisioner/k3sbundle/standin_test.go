package k3sbundle

import (
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/k3sstandin"
)

// standinK3s is the STAND-IN for the real k3s binary, which tests cannot
// download (see internal/testkit/k3sstandin): a shell script that fakes just enough
// of `k3s server`, `k3s kubectl get nodes` and `k3s ctr images ls` for the
// install and verify paths, and writes one file into every path of
// IdentityPaths when started.
var standinK3s = k3sstandin.Script(standinIdentityFiles())

// standinIdentityFiles are the guest paths the stand-in's server writes as
// its identity, from IdentityPaths.
func standinIdentityFiles() []string {
	return k3sstandin.IdentityFiles(IdentityPaths, func(p IdentityPath) (string, bool) { return p.Path, p.Keep != "" })
}

// mirror is the loopback k3s release mirror of internal/testkit/k3sstandin.
type mirror = k3sstandin.Mirror

const testVersion = k3sstandin.Version

// standinAirgap is the STAND-IN for k3s-airgap-images-amd64.tar.zst.
var standinAirgap = k3sstandin.Airgap

func defaultMirror(t testing.TB) *mirror {
	return k3sstandin.StartMirror(t, standinK3s)
}

// recComm records every command and upload, in order, on top of the SDK's
// MockCommunicator; exit picks a command's exit status.
type recComm struct {
	packersdk.MockCommunicator
	mu      sync.Mutex
	log     []string
	uploads map[string]string
	exit    func(cmd string) (int, string)
}

func (c *recComm) Start(ctx context.Context, rc *packersdk.RemoteCmd) error {
	c.mu.Lock()
	c.log = append(c.log, "run "+rc.Command)
	c.mu.Unlock()
	c.StartExitStatus, c.StartStderr = 0, ""
	if c.exit != nil {
		c.StartExitStatus, c.StartStderr = c.exit(rc.Command)
	}
	return c.MockCommunicator.Start(ctx, rc)
}

func (c *recComm) Upload(p string, r io.Reader, fi *os.FileInfo) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, "upload "+p)
	if c.uploads == nil {
		c.uploads = map[string]string{}
	}
	c.uploads[p] = string(data)
	return nil
}

func (c *recComm) script(t *testing.T) string {
	for p, d := range c.uploads {
		if strings.HasSuffix(p, "/k3s-bundle.sh.part") {
			return d
		}
	}
	t.Fatalf("install script was not uploaded; log:\n%s", strings.Join(c.log, "\n"))
	return ""
}

func prepare(t *testing.T, cfg map[string]any) *Provisioner {
	t.Helper()
	p := &Provisioner{}
	if err := p.Prepare(cfg); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return p
}

func baseConfig(t *testing.T, m *mirror) map[string]any {
	return map[string]any{
		"k3s_version": testVersion,
		"release_url": m.URL,
		"cache_dir":   t.TempDir(),
	}
}

// standinSystemctl is a STAND-IN for systemd's systemctl in the chroot
// guest, where systemd does not run: it acts as systemd does for k3s's
// Type=notify unit when k3s never sends READY=1. `start --no-block` starts
// `k3s server` and the unit stays "activating"; a blocking `start` never
// returns (TimeoutStartSec=0), so a verify that used it would hang. The
// real-systemd proof is the vsphere-ova-qemu end-to-end build.
const standinSystemctl = `#!/bin/sh
# systemctl-standin: test STAND-IN for systemctl (see standin_test.go).
pidf=/run/systemctl-standin-k3s.pid
wants=/etc/systemd/system/multi-user.target.wants/k3s.service
case "$1" in
is-enabled) [ -L "$wants" ] ;;
enable) mkdir -p "$(dirname "$wants")" && ln -sf /etc/systemd/system/k3s.service "$wants" ;;
disable) rm -f "$wants" ;;
daemon-reload) ;;
start)
	/usr/local/bin/k3s server </dev/null >/dev/null 2>&1 &
	echo $! > "$pidf"
	[ "$2" = --no-block ] || exec sleep 3600 ;;
show) if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then echo activating; else echo inactive; fi ;;
stop) [ -s "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null; rm -f "$pidf" ;;
*) echo "systemctl-standin: unsupported: $*" >&2; exit 1 ;;
esac
`
