package k3sbundle

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/k3sstandin"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/registrytest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// writeTemplate writes a template that runs the provisioner, with body as
// its extra settings, over SSH to s with the null builder.
func writeTemplate(t *testing.T, s *sshtest.Server, m *mirror, body string) string {
	t.Helper()
	dir := t.TempDir()
	tpl := fmt.Sprintf(`packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = %q
    }
  }
}

source "null" "guest" {
  communicator         = "ssh"
  ssh_host             = "127.0.0.1"
  ssh_port             = %d
  ssh_username         = %q
  ssh_private_key_file = %q
  ssh_timeout          = "30s"
}

build {
  sources = ["source.null.guest"]

  provisioner "vsphere-ova-k3s-bundle" {
    k3s_version = %q
    release_url = %q
    cache_dir   = %q
%s
  }
}
`, packertest.Source, s.Port, s.User, s.PrivateKeyPath, testVersion, m.URL, filepath.Join(dir, "cache"), body)
	if err := os.WriteFile(filepath.Join(dir, "build.pkr.hcl"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func hclList(items ...string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatalf("missing on guest: %v", err)
	}
	return fi.Mode()
}

// assertNoLeftovers checks the guest has no staging folder or temp names.
func assertNoLeftovers(t *testing.T, s *sshtest.Server) {
	t.Helper()
	if m, _ := filepath.Glob(s.Path("/tmp/k3s-bundle-*")); len(m) > 0 {
		t.Errorf("staging folder left on guest: %v", m)
	}
	for _, dir := range []string{"/usr/local/bin", "/etc", "/var/lib"} {
		filepath.WalkDir(s.Path(dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && (strings.HasSuffix(p, ".k3s-bundle-tmp") || strings.HasSuffix(p, ".k3s-bundle-bak")) {
				t.Errorf("temp file left on guest: %s", p)
			}
			return nil
		})
	}
}

// assertNotInstalled checks a failed build left nothing of k3s behind.
func assertNotInstalled(t *testing.T, s *sshtest.Server) {
	t.Helper()
	for _, p := range []string{"/usr/local/bin/k3s", "/usr/local/bin/kubectl", "/usr/local/bin/k3s-killall.sh",
		"/var/lib/rancher", "/etc/rancher/k3s", "/etc/rancher/node", "/etc/systemd/system/k3s.service",
		"/etc/systemd/system/multi-user.target.wants/k3s.service"} {
		if _, err := os.Lstat(s.Path(p)); err == nil {
			t.Errorf("failed build left %s on the guest", p)
		}
	}
	assertNoLeftovers(t, s)
}

// TestPackerBuildInstallsBundle runs real Packer with the null builder over
// real SSH to a chroot-confined sshd as a non-root user with sudo. The k3s
// binary and air-gap archive are STAND-INS served by a loopback release
// mirror (see standinK3s); the extra images come from a real
// docker-registry via ociarchive.
func TestPackerBuildInstallsBundle(t *testing.T) {
	testenv.Require(t, testenv.Packer, "real Packer, sshd and registry")
	env := packertest.New(t)
	s := sshtest.Start(t, sshtest.Options{Chroot: true, User: "builder", Sudo: true})
	m := defaultMirror(t)
	const password = "s3cret-registry-pass-5829"
	reg := registrytest.Start(t, registrytest.WithAuth("puller", password))
	fx := registrytest.PushFixtures(t, reg, 64<<10)
	var names []string
	for _, ref := range []string{fx.AppA, fx.AppB, fx.Multi} {
		n, err := ociarchive.Name(ref)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	// What the stand-in's `ctr images ls` reports once "started".
	if err := os.WriteFile(s.Path(k3sstandin.ImagesListPath), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	body := bundleSettings(t, fx, reg.Host, password)
	dir := writeTemplate(t, s, m, body)
	if res := env.Run(t.Context(), dir, "init", "."); res.ExitCode != 0 {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	// PACKER_LOG=1 so the debug log (plugin side included) is checked for
	// the password too.
	var buf testenv.SyncBuffer
	cmd := env.Command(t.Context(), dir, &buf, "build", "-color=false", ".")
	cmd.Env = append(cmd.Env, "PACKER_LOG=1")
	err := cmd.Run()
	out := buf.String()
	if err != nil {
		t.Fatalf("packer build: %v\n%s", err, out)
	}
	t.Logf("packer build output:\n%s", out)
	if strings.Contains(out, password) {
		t.Error("registry password appears in the build output or log")
	}
	if !strings.Contains(out, "Starting external plugin") {
		t.Error("PACKER_LOG output missing: the log was not checked for the password")
	}
	for _, want := range []string{"Bundling 3 image(s) for linux/amd64", "verify: node Ready and 3 bundled image(s) present", "k3s-bundle: done"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q", want)
		}
	}

	checkInstalledLayout(t, s)

	// An optional tool is a subtest: when it is missing, only the subtest
	// skips, never the checks after it.
	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa := testenv.LookPath(t, "systemd-analyze")
		// verify exits 0 even on parse warnings, so any output is a failure.
		out, err := exec.Command(sa, "verify", "--root="+s.Root, "/etc/systemd/system/k3s.service").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze verify k3s.service: %v\n%s", err, out)
		}
	})

	checkIdentityRemoved(t, s)
	// cleanup reset machine-id.
	if data, err := os.ReadFile(s.Path("/etc/machine-id")); err != nil || len(data) != 0 {
		t.Errorf("machine-id not reset: %q %v", data, err)
	}
	assertNoLeftovers(t, s)

	// The bundle holds the three references with the registry's digests.
	got := bundleRefs(t, s.Path("/var/lib/rancher/k3s/agent/images/"+BundleImagesName))
	wantDigests := map[string]string{names[0]: fx.AppADigest.String(), names[1]: fx.AppBDigest.String(), names[2]: fx.MultiDigest.String()}
	for n, d := range wantDigests {
		if got[n] != d {
			t.Errorf("bundle: %s has digest %q, want %s (all: %v)", n, got[n], d, got)
		}
	}
}

// bundleSettings writes the manifests, chart, registries, config and
// images file of TestPackerBuildInstallsBundle and returns the provisioner
// settings that use them all, with verify and cleanup.
func bundleSettings(t *testing.T, fx *registrytest.Fixtures, regHost, password string) string {
	t.Helper()
	src := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("manifests/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n")
	write("manifests/sub/cm.yml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n")
	write("manifests/README.md", "not a manifest\n")
	chart := write("demo-0.1.0.tgz", "stand-in chart archive: only copied\n")
	registries := write("registries.yaml", "mirrors:\n  docker.io:\n    endpoint: [\"https://mirror.invalid\"]\n")
	k3sConfig := write("config.yaml", "write-kubeconfig-mode: \"0600\"\n")
	imagesFile := write("images.txt", "# bundled too\n"+fx.Multi+"\n")
	return fmt.Sprintf(`    images               = %s
    images_file          = %q
    manifests            = [%q]
    charts               = [%q]
    registries           = %q
    config               = %q
    verify               = true
    verify_timeout       = "60s"
    cleanup              = true
    registry_auth {
      registry = %q
      username = "puller"
      password = %q
    }`, hclList(fx.AppA, fx.AppB), imagesFile, filepath.Join(src, "manifests"), chart, registries, k3sConfig, regHost, password)
}

// checkInstalledLayout checks the files TestPackerBuildInstallsBundle
// installs: paths, modes, contents, links and the enabled unit.
func checkInstalledLayout(t *testing.T, s *sshtest.Server) {
	t.Helper()
	checks := []struct {
		path string
		mode os.FileMode
		data string
	}{
		{"/usr/local/bin/k3s", 0o755, standinK3s},
		{"/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst", 0o644, string(standinAirgap)},
		{"/var/lib/rancher/k3s/server/manifests/ns.yaml", 0o644, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n"},
		{"/var/lib/rancher/k3s/server/manifests/cm.yml", 0o644, ""},
		{"/var/lib/rancher/k3s/server/static/charts/demo-0.1.0.tgz", 0o644, "stand-in chart archive: only copied\n"},
		{"/var/lib/rancher/k3s/server/manifests/demo-0-1-0-chart.yaml", 0o644, ""},
		{"/etc/rancher/k3s/registries.yaml", 0o600, ""},
		{"/etc/rancher/k3s/config.yaml", 0o600, "write-kubeconfig-mode: \"0600\"\n"},
		{"/etc/systemd/system/k3s.service", 0o644, ""},
		{"/etc/systemd/system/k3s.service.env", 0o600, ""},
		{"/usr/local/bin/k3s-killall.sh", 0o755, ""},
		{"/usr/local/bin/k3s-uninstall.sh", 0o755, ""},
		{"/var/lib/rancher/k3s/agent/images/" + BundleImagesName, 0o644, ""},
	}
	for _, c := range checks {
		if got := mode(t, s.Path(c.path)); got.Perm() != c.mode || !got.IsRegular() {
			t.Errorf("%s: mode %v, want regular %v", c.path, got, c.mode)
		}
		if c.data != "" {
			if got, _ := os.ReadFile(s.Path(c.path)); string(got) != c.data {
				t.Errorf("%s: content %q, want %q", c.path, got, c.data)
			}
		}
	}
	if _, err := os.Stat(s.Path("/var/lib/rancher/k3s/server/manifests/README.md")); err == nil {
		t.Error("non-manifest file from a manifests folder was installed")
	}
	for _, l := range []string{"kubectl", "crictl", "ctr"} {
		if target, err := os.Readlink(s.Path("/usr/local/bin/" + l)); err != nil || target != "k3s" {
			t.Errorf("%s: want link to k3s, got %q %v", l, target, err)
		}
	}
	if target, err := os.Readlink(s.Path("/etc/systemd/system/multi-user.target.wants/k3s.service")); err != nil || !strings.HasSuffix(target, "/k3s.service") {
		t.Errorf("k3s.service not enabled: %q %v", target, err)
	}
}

// checkIdentityRemoved checks verify started the stand-in, which wrote into
// every identity path, and that all of it is gone, the bundled images not.
func checkIdentityRemoved(t *testing.T, s *sshtest.Server) {
	t.Helper()
	if _, err := os.Stat(s.Path(k3sstandin.StartedPath)); err != nil {
		t.Errorf("verify did not start k3s: %v", err)
	}
	// What the stand-in writes by name, and one file in every path of
	// IdentityPaths: a path dropped from the list is still caught.
	written := []string{"/var/lib/rancher/k3s/server/tls/server-ca.key", "/var/lib/rancher/k3s/server/token",
		"/var/lib/rancher/k3s/server/db", "/etc/rancher/node/password", "/var/lib/rancher/k3s/agent/etc",
		"/etc/rancher/k3s/k3s.yaml"}
	for _, p := range append(written, standinIdentityFiles()...) {
		if _, err := os.Lstat(s.Path(p)); err == nil {
			t.Errorf("cluster identity left after the build: %s", p)
		}
	}
	if _, err := os.Stat(s.Path(ImagesDir + "/" + BundleImagesName)); err != nil {
		t.Errorf("removing the identity took the bundled images: %v", err)
	}
}

// bundleRefs reads index.json of a .tar.zst OCI archive: name -> digest.
func bundleRefs(t *testing.T, p string) map[string]string {
	t.Helper()
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	zr, err := zstd.NewReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatal("bundle has no index.json")
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "index.json" {
			continue
		}
		var idx struct {
			Manifests []struct {
				Digest      string            `json:"digest"`
				Annotations map[string]string `json:"annotations"`
			} `json:"manifests"`
		}
		if err := json.NewDecoder(tr).Decode(&idx); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, m := range idx.Manifests {
			out[m.Annotations["io.containerd.image.name"]] = m.Digest
		}
		return out
	}
}
