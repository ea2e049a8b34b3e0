package k3sbundle

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// standinInstallScript is a STAND-IN for k3s's upstream install.sh (not
// downloadable here): it records the environment it was run with and writes
// what the real script would, the unit and uninstall script.
const standinInstallScript = `#!/bin/sh
# install.sh stand-in (see packer_install_script_test.go)
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
	testenv.Require(t, testenv.Packer, "real Packer and sshd")
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
	testenv.Require(t, testenv.Packer, "real Packer and sshd")
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
