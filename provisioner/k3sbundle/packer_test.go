package k3sbundle

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/registrytest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// skipShort skips a test that runs real Packer (and sshd, docker-registry)
// under `go test -short`.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real Packer, sshd and registry: not with -short")
	}
}

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
	skipShort(t)
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
	if err := os.WriteFile(s.Path("/etc/k3s-standin-images"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
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
	if _, err := os.Stat(s.Path("/var/lib/rancher/k3s/standin-started")); err != nil {
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

// TestPackerBuildBadInput runs each bad input through real Packer and SSH
// and checks for a clear error and an untouched guest.
func TestPackerBuildBadInput(t *testing.T) {
	skipShort(t)
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
			m.set("/"+testVersion+"/k3s", []byte("#!/bin/sh\n# tampered stand-in\n"))
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
			os.WriteFile(s.Path("/etc/k3s-standin-images"), []byte("docker.io/library/other:1\n"), 0o644)
		}, body: fmt.Sprintf("images = [%q]\nverify = true\nverify_timeout = \"5s\"", fx.AppA),
			want: []string{"verify: image(s) not listed by 'k3s ctr -n k8s.io images ls' after 5s: " + fx.AppA}},
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
			res := env.Run(t.Context(), dir, "build", "-color=false", ".")
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

// standinInstallScript is a STAND-IN for k3s's upstream install.sh (not
// downloadable here): it records the environment it was run with and writes
// what the real script would, the unit and uninstall script.
const standinInstallScript = `#!/bin/sh
# install.sh stand-in (see packer_test.go)
set -e
env | grep '^INSTALL_K3S_' | sort > /etc/k3s-standin-install-env
[ -x "$INSTALL_K3S_BIN_DIR/k3s" ] || { echo "k3s binary missing" >&2; exit 1; }
printf '[Service]\nExecStart=%s/k3s server\n' "$INSTALL_K3S_BIN_DIR" > /etc/systemd/system/k3s.service
printf '#!/bin/sh\n' > "$INSTALL_K3S_BIN_DIR/k3s-uninstall.sh"
chmod 755 "$INSTALL_K3S_BIN_DIR/k3s-uninstall.sh"
`

// TestPackerBuildInstallScript logs in as root (no sudo needed) and runs a
// stand-in install.sh the way the upstream one must be run offline.
func TestPackerBuildInstallScript(t *testing.T) {
	skipShort(t)
	env := packertest.New(t)
	s := sshtest.Start(t, sshtest.Options{Chroot: true})
	m := defaultMirror(t)
	script := filepath.Join(t.TempDir(), "install.sh")
	if err := os.WriteFile(script, []byte(standinInstallScript), 0o755); err != nil {
		t.Fatal(err)
	}
	// zero_fill writes zeros until the disk is full. A small tmpfs over the
	// guest's /var/tmp stands in for the guest disk, so the fill really runs
	// into ENOSPC without filling the host's disk.
	varTmp := s.Path("/var/tmp")
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", varTmp).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs over the guest's /var/tmp: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", varTmp).Run() })
	dir := writeTemplate(t, s, m, fmt.Sprintf(`    install_script     = %q
    install_script_env = ["INSTALL_K3S_EXEC=server --disable=traefik"]
    bin_dir            = "/opt/k3s/bin"
    skip_airgap_images = true
    cleanup            = true
    zero_fill          = true`, script))
	out := env.Build(t, dir)
	if !strings.Contains(out, "k3s-bundle: zero-filling free space") {
		t.Errorf("zero_fill did not run:\n%s", out)
	}
	if left, _ := os.ReadDir(varTmp); len(left) != 0 {
		t.Errorf("zero_fill left files in the guest's /var/tmp: %v", left)
	}
	if !strings.Contains(out, "k3s-bundle: running install_script") {
		t.Errorf("install_script not run:\n%s", out)
	}
	got, err := os.ReadFile(s.Path("/etc/k3s-standin-install-env"))
	if err != nil {
		t.Fatalf("install_script did not run on the guest: %v", err)
	}
	want := "INSTALL_K3S_BIN_DIR=/opt/k3s/bin\nINSTALL_K3S_EXEC=server --disable=traefik\nINSTALL_K3S_SKIP_DOWNLOAD=true\nINSTALL_K3S_SKIP_START=true\n"
	if string(got) != want {
		t.Errorf("install_script environment:\n%s\nwant:\n%s", got, want)
	}
	if mode(t, s.Path("/opt/k3s/bin/k3s")).Perm() != 0o755 {
		t.Error("binary not installed 0755 in bin_dir")
	}
	if _, err := os.Stat(s.Path("/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.zst")); err == nil {
		t.Error("air-gap images installed despite skip_airgap_images")
	}
	if _, err := os.Lstat(s.Path("/opt/k3s/bin/kubectl")); err == nil {
		t.Error("native links made although install_script was given")
	}
	assertNoLeftovers(t, s)
}

// TestExampleValidates keeps example/provisioner (the provisioner chained
// before the vsphere-ova post-processor) valid for the current plugin.
func TestExampleValidates(t *testing.T) {
	skipShort(t)
	env := packertest.New(t)
	dir := t.TempDir()
	ova := filepath.Join(dir, "base.ova")
	if err := os.WriteFile(ova, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command(testenv.LookPath(t, "ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	example := filepath.Join(testenv.RepoRoot(t), "example", "provisioner")
	if res := env.Run(t.Context(), example, "init", "."); res.ExitCode != 0 {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	res := env.Run(t.Context(), example, "validate", "-var", "vcenter_server=127.0.0.1:8989", "-var", "username=example-user",
		"-var", "password=example-password", "-var", "source_path="+ova, "-var", "ssh_private_key_file="+key, ".")
	if res.ExitCode != 0 || !strings.Contains(res.Output, "The configuration is valid") {
		t.Fatalf("packer validate example/provisioner: exit %d\n%s", res.ExitCode, res.Output)
	}
}

// TestPackerBuildInterruptRollsBack interrupts `packer build` (SIGINT, as
// Ctrl-C) while verify waits for an image the stand-in never lists, and
// checks the guest is rolled back: nothing installed, no identity, no staging.
func TestPackerBuildInterruptRollsBack(t *testing.T) {
	skipShort(t)
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
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
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
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
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
