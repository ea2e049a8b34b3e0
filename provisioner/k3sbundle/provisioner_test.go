package k3sbundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
)

func TestPrepareRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{"no version", map[string]any{}, "k3s_version: required"},
		{"bad version", map[string]any{"k3s_version": "1.31"}, `k3s_version: "1.31" is not a k3s release tag`},
		{"bad arch", map[string]any{"k3s_version": testVersion, "arch": "s390x"}, `arch: "s390x" is not supported`},
		{"zero_fill alone", map[string]any{"k3s_version": testVersion, "zero_fill": true}, "zero_fill: only takes effect with cleanup"},
		{"missing manifest", map[string]any{"k3s_version": testVersion, "manifests": []string{filepath.Join(dir, "nope.yaml")}}, "manifests[0]: cannot read"},
		{"chart not tgz", map[string]any{"k3s_version": testVersion, "charts": []string{dir}}, "charts[0]"},
		{"bad bin_dir", map[string]any{"k3s_version": testVersion, "bin_dir": "usr/bin"}, "bin_dir"},
		{"auth without registry", map[string]any{"k3s_version": testVersion, "registry_auth": []map[string]any{{"username": "u", "password": "unit-test-secret-1"}}}, "registry_auth[0]: registry is required"},
		{"bad release_url", map[string]any{"k3s_version": testVersion, "release_url": "ftp://x"}, "release_url"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Provisioner{}).Prepare(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestAssetURLEscapesPlus(t *testing.T) {
	got := assetURL(DefaultReleaseURL, testVersion, "k3s")
	want := "https://github.com/k3s-io/k3s/releases/download/v1.31.4%2Bk3s1/k3s"
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if binaryAsset("arm64") != "k3s-arm64" || airgapAsset("arm64") != "k3s-airgap-images-arm64.tar.zst" {
		t.Fatal("arm64 asset names wrong")
	}
}

// TestProvisionSequence checks the order of operations against the SDK's
// MockCommunicator: staging folder, uploads to .part names then renames, the
// script run through execute_command (sudo for non-root), staging removed.
func TestProvisionSequence(t *testing.T) {
	m := defaultMirror(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "app.yaml")
	chart := filepath.Join(dir, "demo-0.1.0.tgz")
	os.WriteFile(manifest, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n"), 0o644)
	os.WriteFile(chart, []byte("not really a chart"), 0o644)
	cfg := baseConfig(t, m)
	cfg["manifests"] = []string{manifest}
	cfg["charts"] = []string{chart}
	cfg["cleanup"] = true
	p := prepare(t, cfg)
	comm := &recComm{}
	ui := packersdk.TestUi(t)
	if err := p.Provision(context.Background(), ui, comm, nil); err != nil {
		t.Fatalf("Provision: %v\n%s", err, strings.Join(comm.log, "\n"))
	}
	log := strings.Join(comm.log, "\n")
	first := comm.log[0]
	if !strings.HasPrefix(first, "run mkdir -m 0700 /tmp/k3s-bundle-") {
		t.Fatalf("first step should create the staging folder, got %q", first)
	}
	staging := strings.TrimPrefix(first, "run mkdir -m 0700 ")
	for _, name := range []string{"f00-k3s", "f01-k3s-airgap-images-amd64.tar.zst", "f02-app.yaml", "f03-demo-0.1.0.tgz", "f04-demo-0-1-0-chart.yaml", "f05-k3s.service", "k3s-bundle.sh"} {
		up := "upload " + staging + "/" + name + ".part\nrun mv -f " + staging + "/" + name + ".part " + staging + "/" + name
		if !strings.Contains(log, up) {
			t.Errorf("missing upload-then-rename of %s in:\n%s", name, log)
		}
	}
	if got := comm.uploads[staging+"/f00-k3s.part"]; got != standinK3s {
		t.Errorf("uploaded binary differs from the mirror's")
	}
	if got := comm.uploads[staging+"/f04-demo-0-1-0-chart.yaml.part"]; !strings.Contains(got, "chart: https://%{KUBERNETES_API}%/static/charts/demo-0.1.0.tgz") {
		t.Errorf("HelmChart manifest wrong:\n%s", got)
	}
	unit := comm.uploads[staging+"/f05-k3s.service.part"]
	for _, want := range []string{"Type=notify", "ExecStart=/usr/local/bin/k3s server", "EnvironmentFile=-/etc/systemd/system/k3s.service.env", "KillMode=process", "Delegate=yes", "WantedBy=multi-user.target"} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	script := comm.script(t)
	for _, want := range []string{
		"place \"$S\"/'f00-k3s' '/usr/local/bin/k3s' 0755",
		"place \"$S\"/'f01-k3s-airgap-images-amd64.tar.zst' '/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst' 0644",
		"'/var/lib/rancher/k3s/server/manifests/app.yaml'",
		"'/var/lib/rancher/k3s/server/static/charts/demo-0.1.0.tgz'",
		"systemctl enable k3s",
		"guest has no systemd",
		": > /etc/machine-id",
		"fstrim -av",
	} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q", want)
		}
	}
	if strings.Contains(script, "systemctl start") {
		t.Error("k3s must not be started without verify")
	}
	n := len(comm.log)
	exec := comm.log[n-2]
	if !strings.Contains(exec, "sudo -n -E sh -c ' "+staging+"/k3s-bundle.sh'") || !strings.Contains(exec, "chmod 0700 "+staging+"/k3s-bundle.sh") {
		t.Errorf("execute_command not rendered as expected: %q", exec)
	}
	if comm.log[n-1] != "run rm -rf "+staging {
		t.Errorf("staging folder not removed last: %q", comm.log[n-1])
	}
}

func TestDownloadsAreCachedBySHA256(t *testing.T) {
	m := defaultMirror(t)
	cfg := baseConfig(t, m)
	for i := 0; i < 2; i++ {
		p := prepare(t, cfg)
		if err := p.Provision(context.Background(), packersdk.TestUi(t), &recComm{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// First run: checksum file + 2 assets; second: checksum file only.
	if got := m.Requests(); got != 4 {
		t.Fatalf("want 4 requests (second run served from cache), got %d", got)
	}
	sum := sha256.Sum256([]byte(standinK3s))
	cached := filepath.Join(cfg["cache_dir"].(string), "sha256", hex.EncodeToString(sum[:]), "k3s")
	if data, err := os.ReadFile(cached); err != nil || string(data) != standinK3s {
		t.Fatalf("binary not cached at %s: %v", cached, err)
	}
}

func TestChecksumMismatchNamesAssetAndDigests(t *testing.T) {
	m := defaultMirror(t)
	m.Set("/"+testVersion+"/k3s", []byte("tampered"))
	cfg := baseConfig(t, m)
	p := prepare(t, cfg)
	comm := &recComm{}
	err := p.Provision(context.Background(), packersdk.TestUi(t), comm, nil)
	if err == nil {
		t.Fatal("want checksum error")
	}
	bad := sha256.Sum256([]byte("tampered"))
	good := sha256.Sum256([]byte(standinK3s))
	for _, want := range []string{"checksum mismatch for k3s", hex.EncodeToString(bad[:]), hex.EncodeToString(good[:])} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if len(comm.log) != 0 {
		t.Errorf("guest touched despite a bad download: %v", comm.log)
	}
	entries, _ := filepath.Glob(filepath.Join(cfg["cache_dir"].(string), "sha256", "*", "*"))
	for _, e := range entries {
		if filepath.Base(e) == "k3s" {
			t.Errorf("corrupt download left in cache: %s", e)
		}
	}
	if left, err := atomicfile.Leftovers(cfg["cache_dir"].(string)); err != nil || len(left) > 0 {
		t.Errorf("temporary download files left in the cache: %v %v", left, err)
	}
}

func TestScriptFailureReportsCommandExitAndStderr(t *testing.T) {
	m := defaultMirror(t)
	p := prepare(t, baseConfig(t, m))
	comm := &recComm{exit: func(cmd string) (int, string) {
		if strings.Contains(cmd, "sudo") {
			return 1, "sudo: a password is required\n"
		}
		return 0, ""
	}}
	err := p.Provision(context.Background(), packersdk.TestUi(t), comm, nil)
	if err == nil || !strings.Contains(err.Error(), "exited with status 1") || !strings.Contains(err.Error(), "sudo: a password is required") {
		t.Fatalf("want exit status and stderr in error, got %v", err)
	}
	if last := comm.log[len(comm.log)-1]; !strings.HasPrefix(last, "run rm -rf /tmp/k3s-bundle-") {
		t.Fatalf("staging not removed after failure: %q", last)
	}
}

func TestCancelledBuildTouchesNoGuest(t *testing.T) {
	m := defaultMirror(t)
	p := prepare(t, baseConfig(t, m))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	comm := &recComm{}
	err := p.Provision(ctx, packersdk.TestUi(t), comm, nil)
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("want context canceled, got %v", err)
	}
	if len(comm.log) != 0 {
		t.Fatalf("guest touched after cancel: %v", comm.log)
	}
}

// TestChecksumFileErrors: a checksum file that is not sha256sum output fails
// before any download, naming the file and what is wrong with it.
func TestChecksumFileErrors(t *testing.T) {
	sum := sha256.Sum256([]byte(standinK3s))
	good := hex.EncodeToString(sum[:])
	for name, c := range map[string]struct{ content, want string }{
		"malformed line":  {good + "  k3s\nnot a checksum line\n", "line 2"},
		"sha512 digest":   {good + good + "  k3s\n", "not a sha256"},
		"asset not named": {good + "  k3s-arm64\n", "has no entry for k3s"},
	} {
		t.Run(name, func(t *testing.T) {
			m := defaultMirror(t)
			sums := filepath.Join(t.TempDir(), "sha256sum-amd64.txt")
			if err := os.WriteFile(sums, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := baseConfig(t, m)
			cfg["checksum_file"] = sums
			cfg["skip_airgap_images"] = true
			comm := &recComm{}
			err := prepare(t, cfg).Provision(context.Background(), packersdk.TestUi(t), comm, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error containing %q, got %v", c.want, err)
			}
			if !strings.Contains(err.Error(), sums) {
				t.Errorf("error does not name the checksum file %s: %v", sums, err)
			}
			if got := m.Requests(); got != 0 {
				t.Errorf("%d downloads despite a bad checksum file", got)
			}
			if len(comm.log) != 0 {
				t.Errorf("guest touched: %v", comm.log)
			}
		})
	}
}

// TestPlanFailsBeforePulling: a bad entry of the plan (here a manifests
// folder without manifests) fails before any image is pulled; the image's
// registry (a closed port) would fail differently.
func TestPlanFailsBeforePulling(t *testing.T) {
	m := defaultMirror(t)
	cfg := baseConfig(t, m)
	cfg["manifests"] = []string{t.TempDir()}
	cfg["images"] = []string{"127.0.0.1:1/app:1.0"}
	comm := &recComm{}
	err := prepare(t, cfg).Provision(context.Background(), packersdk.TestUi(t), comm, nil)
	if err == nil || !strings.Contains(err.Error(), "manifests[0]: folder") || strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("want the manifests error before any pull, got %v", err)
	}
	if len(comm.log) != 0 {
		t.Errorf("guest touched: %v", comm.log)
	}
}
