package vsphereovalibrary

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// The example template, run by real Packer with the plugin installed by
// `packer plugins install --path`, against the simulator's vAPI: an OVA in,
// a library item out; the password stays out of Packer's log.
func TestPackerPublishExample(t *testing.T) {
	testenv.Require(t, testenv.Packer, "runs real Packer")
	env := packertest.New(t)
	srv := startVAPI(t)
	src := makeOVA(t, "appliance", 2, 512)
	work := t.TempDir()
	tpl, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "library", "publish.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	// Without `sensitive = true` Packer itself does not hide the value: only
	// the plugin's own secret filter keeps it out of the log then.
	tpl = bytes.Replace(tpl, []byte("sensitive = true"), []byte("sensitive = false"), 1)
	if err := os.WriteFile(filepath.Join(work, "publish.pkr.hcl"), tpl, 0o644); err != nil {
		t.Fatal(err)
	}
	const password = "Libr4ry-s3cret-Pw-0815"
	env.Env = append(env.Env, "PACKER_LOG=1")
	out := env.Build(t, work, "-var", "ova="+src, "-var", "vcenter_server="+srv.Host,
		"-var", "username="+srv.Username, "-var", "password="+password)
	if strings.Contains(out, password) {
		t.Error("packer output or log contains the password")
	}
	for _, want := range []string{"Uploading appliance.ovf", "Uploading appliance-disk-0.vmdk", `Published library item "appliance"`} {
		if !strings.Contains(out, want) {
			t.Errorf("packer output lacks %q:\n%s", want, out)
		}
	}
	if items := itemNames(t, srv); strings.Join(items, " ") != "appliance" {
		t.Errorf("library items %v, want [appliance]", items)
	}
	if _, err := os.Stat(src); err != nil {
		t.Errorf("the input OVA is gone: %v", err)
	}
}
