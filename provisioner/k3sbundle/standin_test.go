package k3sbundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// standinK3s is a STAND-IN for the real k3s binary, which tests cannot
// download: a shell script that fakes just enough of `k3s server`,
// `k3s kubectl get nodes` and `k3s ctr images ls` for the install and verify
// paths. Started as a server it writes files where real k3s keeps its
// cluster identity, and one into every other path of IdentityPaths, so tests
// can prove `verify` removes them all; `ctr images ls` prints the references
// listed in /etc/k3s-standin-images (written by the test), because the
// stand-in cannot import archives. A real k3s would import the bundled
// archives itself and report a real node.
var standinK3s = `#!/bin/sh
# k3s-standin: test STAND-IN for k3s (see standin_test.go).
case "$1" in
--version) echo "k3s version v1.31.4+k3s1 (k3s-standin)" ;;
server)
	mkdir -p /var/lib/rancher/k3s/server/tls /var/lib/rancher/k3s/server/db /etc/rancher/node /var/lib/rancher/k3s/agent/etc /etc/rancher/k3s
	echo standin-ca-key > /var/lib/rancher/k3s/server/tls/server-ca.key
	echo K10standin::server:token > /var/lib/rancher/k3s/server/token
	echo standin-node-password > /etc/rancher/node/password
	echo standin-cert > /var/lib/rancher/k3s/agent/client-kubelet.crt
	echo standin-key > /var/lib/rancher/k3s/agent/client-kubelet.key
	echo standin-kubeconfig > /etc/rancher/k3s/k3s.yaml
	for p in ` + strings.Join(standinIdentityFiles(), " ") + `; do
		[ -e "$p" ] || { mkdir -p "$(dirname "$p")" && echo standin-identity > "$p"; }
	done
	date > /var/lib/rancher/k3s/standin-started
	exec sleep 600 ;;
kubectl)
	[ -e /var/lib/rancher/k3s/standin-started ] && echo "standin Ready control-plane 1m v1.31.4+k3s1" ;;
ctr)
	[ -e /var/lib/rancher/k3s/standin-started ] && cat /etc/k3s-standin-images 2>/dev/null ;;
esac
exit 0
`

// standinIdentityFiles are the guest paths the stand-in's server writes as
// its identity: every path of IdentityPaths (a file inside each folder
// that keeps an entry) and the agent certificate and key.
func standinIdentityFiles() []string {
	out := []string{"/var/lib/rancher/k3s/agent/client-kubelet.crt", "/var/lib/rancher/k3s/agent/client-kubelet.key"}
	for _, p := range IdentityPaths {
		if p.Keep != "" {
			out = append(out, p.Path+"/standin-state")
		} else {
			out = append(out, p.Path)
		}
	}
	return out
}

// mirror is a loopback k3s "release mirror": it serves assets under
// /<version>/<asset> like GitHub releases, and counts requests.
type mirror struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	files    map[string][]byte
}

func newMirror(t testing.TB, version string, assets map[string][]byte) *mirror {
	t.Helper()
	m := &mirror{files: map[string][]byte{}}
	var sums strings.Builder
	for name, data := range assets {
		m.files["/"+version+"/"+name] = data
		sum := sha256.Sum256(data)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	m.files["/"+version+"/sha256sum-amd64.txt"] = []byte(sums.String())
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		m.mu.Lock()
		data, ok := m.files[r.URL.Path]
		m.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(m.Close)
	return m
}

// set replaces one served file (to corrupt an asset).
func (m *mirror) set(p string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[p] = data
}

const testVersion = "v1.31.4+k3s1"

// standinAirgap is a STAND-IN for k3s-airgap-images-amd64.tar.zst: bytes
// that are only checksummed and copied, never imported.
var standinAirgap = []byte("k3s-airgap-images stand-in: checksummed and copied, never imported\n")

func defaultMirror(t testing.TB) *mirror {
	return newMirror(t, testVersion, map[string][]byte{
		"k3s":                             []byte(standinK3s),
		"k3s-airgap-images-amd64.tar.zst": standinAirgap,
	})
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
