package example

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/bootimage"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/k3sstandin"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/provisioner/k3sbundle"
)

// TestPackerQemuK3sExample builds example/qemu-k3s as it is, offline: the
// test appliance (internal/testkit/bootimage) boots under QEMU, the
// k3s-bundle provisioner installs a STAND-IN k3s binary and air-gap archive
// (internal/testkit/k3sstandin: real k3s cannot be downloaded here, so this
// proves the offline install, verify under systemd and the identity
// removal, not that Kubernetes runs), the builder exports straight into one
// OVA, and the post-processor re-targets that OVA into the three targets'.
// HCP_PACKER_REGISTRY=off: no HCP credentials here.
func TestPackerQemuK3sExample(t *testing.T) {
	testenv.LookPath(t, "qemu-system-x86_64")
	env := packertest.New(t)
	img := bootimage.Get(t)
	base, err := img.BaseOVA(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	files := t.TempDir()
	identity := k3sstandin.IdentityFiles(k3sbundle.IdentityPaths, func(p k3sbundle.IdentityPath) (string, bool) { return p.Path, p.Keep != "" })
	k3s := filepath.Join(files, "k3s")
	airgap := filepath.Join(files, k3sstandin.AirgapName)
	if err := os.WriteFile(k3s, []byte(k3sstandin.Script(identity)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(airgap, k3sstandin.Airgap, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	copyTree(t, filepath.Join(testenv.RepoRoot(t), "example", "qemu-k3s"), dir)
	out := filepath.Join(dir, "out")
	env.Env = append(env.Env, "HCP_PACKER_REGISTRY=off", "TMPDIR="+t.TempDir())
	log := env.Build(t, dir, "-var", "source_path="+base, "-var", "ssh_username="+img.User,
		"-var", "ssh_private_key_file="+img.PrivateKeyPath, "-var", "k3s_binary="+k3s,
		"-var", "airgap_images="+airgap, "-var", "output_directory="+out)
	for _, want := range []string{
		"k3s-bundle: verify: starting k3s",
		"k3s-bundle: verify: node Ready",
		"k3s-bundle: done",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("build output lacks %q:\n%s", want, log)
		}
	}
	if entries, _ := filepath.Glob(filepath.Join(out, "*.vmdk")); len(entries) != 0 {
		t.Errorf("output_format = \"ova\" left an export folder's disks: %v", entries)
	}
	for _, ova := range []string{"k3s-appliance.ova", "k3s-appliance-vsphere.ova", "k3s-appliance-workstation.ova", "k3s-appliance-virtualbox.ova"} {
		cmd := exec.CommandContext(context.Background(), testenv.LookPath(t, "sha256sum"), "-c", ova+".sha256")
		cmd.Dir = out
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c %s: %v\n%s", ova, err, b)
		}
	}
}
