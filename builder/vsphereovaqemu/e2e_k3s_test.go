package vsphereovaqemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/k3sstandin"
	"github.com/ovakit/packer-plugin-vsphere-ova/provisioner/k3sbundle"
)

// k3sGuest is the k3s part of TestPackerOVAInOVAOutBoots: the
// vsphere-ova-k3s-bundle provisioner with verify = true in a real guest
// (systemd as PID 1). The k3s binary is the STAND-IN of internal/testkit/k3sstandin,
// served by its loopback release mirror: real k3s cannot be downloaded
// here, so this proves the install, systemd's start of the Type=notify
// unit, verify's stop and identity removal, and the files surviving OVA
// export and a second boot, not that Kubernetes runs.
type k3sGuest struct {
	mirror   *k3sstandin.Mirror
	script   string
	manifest string // local manifest file the provisioner installs
	cacheDir string
	identity []string // what the stand-in's server writes as identity
}

const k3sManifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ovakit-e2e\n"

func newK3sGuest(t *testing.T) *k3sGuest {
	t.Helper()
	identity := k3sstandin.IdentityFiles(k3sbundle.IdentityPaths, func(p k3sbundle.IdentityPath) (string, bool) { return p.Path, p.Keep != "" })
	script := k3sstandin.Script(identity)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "ovakit-e2e.yaml")
	if err := os.WriteFile(manifest, []byte(k3sManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return &k3sGuest{
		mirror:   k3sstandin.StartMirror(t, script),
		script:   script,
		manifest: manifest,
		cacheDir: filepath.Join(dir, "cache"),
		// Written by name by the stand-in, and one file in every identity path.
		identity: append([]string{"/var/lib/rancher/k3s/server/tls/server-ca.key", "/var/lib/rancher/k3s/server/token",
			"/etc/rancher/node/password", "/etc/rancher/k3s/k3s.yaml"}, identity...),
	}
}

// provisioners are the first build's: the bundle with verify and cleanup,
// then a shell provisioner that reports what verify left behind.
func (k *k3sGuest) provisioners() string {
	return fmt.Sprintf(`
  provisioner "vsphere-ova-k3s-bundle" {
    k3s_version    = %s
    release_url    = %s
    cache_dir      = %s
    manifests      = [%s]
    verify         = true
    verify_timeout = "2m"
    cleanup        = true
  }
  provisioner "shell" {
    inline = [
      "echo k3s-enabled=$(systemctl is-enabled k3s)",
      "echo k3s-state=$(systemctl is-active k3s)",
      "echo k3s-active-since-boot=$(systemctl show -p ActiveEnterTimestampMonotonic --value k3s)",
      "sudo cat %s",
      "sudo sh -c 'for p in %s; do [ ! -e $p ] || echo identity-left=$p; done'",
    ]
  }
`, hclString(k3sstandin.Version), hclString(k.mirror.URL), hclString(k.cacheDir), hclString(k.manifest),
		k3sstandin.StartedPath, strings.Join(k.identity, " "))
}

var activeSinceBoot = regexp.MustCompile(`k3s-active-since-boot=(\d+)`)

// checkFirstBuild: verify ran against systemd as PID 1 (the stand-in saw
// PID 1 = systemd and a notify socket, and the unit became active, which
// for Type=notify needs READY=1), stopped k3s, left it enabled and removed
// every identity file.
func (k *k3sGuest) checkFirstBuild(t *testing.T, log string) {
	t.Helper()
	t.Logf("first build, k3s lines:\n%s", k3sLines(log))
	for _, want := range []string{
		"k3s-bundle: verify: starting k3s",
		"k3s-bundle: verify: node Ready and 0 bundled image(s) present",
		"k3s-bundle: done",
		"k3s-enabled=enabled",
		"k3s-state=inactive",
		"pid1=systemd",
		"notify_socket=yes",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("first build: output lacks %q (k3s-bundle verify under systemd)", want)
		}
	}
	if m := activeSinceBoot.FindStringSubmatch(log); m == nil {
		t.Error("first build: no k3s-active-since-boot line")
	} else if n, _ := strconv.ParseUint(m[1], 10, 64); n == 0 {
		t.Error("first build: k3s.service never became active (systemd got no READY=1)")
	}
	if i := strings.Index(log, "identity-left=/"); i >= 0 {
		t.Errorf("first build: cluster identity left after verify: %s", strings.SplitN(log[i:], "\n", 2)[0])
	}
}

// readBack is the second build's inline commands: the output OVA's k3s
// files and unit, after a boot in which systemd started the enabled unit.
func (k *k3sGuest) readBack() string {
	return `
      "echo k3s-sha=$(sha256sum < /usr/local/bin/k3s | cut -d' ' -f1)",
      "echo airgap-sha=$(sudo cat /var/lib/rancher/k3s/agent/images/` + k3sstandin.AirgapName + ` | sha256sum | cut -d' ' -f1)",
      "echo manifest-sha=$(sudo cat /var/lib/rancher/k3s/server/manifests/ovakit-e2e.yaml | sha256sum | cut -d' ' -f1)",
      "echo k3s-enabled-again=$(systemctl is-enabled k3s)",
      # After=network-online.target: the unit may start a little after sshd.
      "for i in $(seq 120); do [ $(systemctl is-active k3s) != active ] || break; sleep 1; done; echo k3s-at-boot=$(systemctl is-active k3s)",`
}

func (k *k3sGuest) checkSecondBuild(t *testing.T, log string) {
	t.Helper()
	t.Logf("second build, k3s lines:\n%s", k3sLines(log))
	for _, want := range []string{
		"k3s-sha=" + sha256Hex(k.script),
		"airgap-sha=" + sha256Hex(string(k3sstandin.Airgap)),
		"manifest-sha=" + sha256Hex(k3sManifest),
		"k3s-enabled-again=enabled",
		"k3s-at-boot=active",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("second boot (output OVA): output lacks %q", want)
		}
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// k3sLines are the build's UI lines about k3s, for the test log.
func k3sLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "==> vsphere-ova-qemu.") && strings.Contains(l, "k3s") ||
			strings.Contains(l, "pid1=") || strings.Contains(l, "notify_socket=") || strings.Contains(l, "identity-left=/") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
