package example

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// TestPackerVSphereCloneExample builds example/post-processor/
// vsphere-clone.pkr.hcl as users run it, with HashiCorp's vsphere plugin
// (v1.4.2, built by `make tools`) against govmomi's vCenter simulator: real
// vsphere-clone clones the simulator's VM and exports it with `export {}`
// (its own .ovf, .mf and disk names), and our post-processor packs that
// export. Only the inventory names and communicator = "none" are changed
// through the example's variables.
func TestPackerVSphereCloneExample(t *testing.T) {
	testenv.Require(t, testenv.Simulator, "HashiCorp's vsphere-clone against the vCenter simulator")
	env := packertest.New(t)
	hc := filepath.Join(testenv.RepoRoot(t), "bin", "packer-plugin-vsphere")
	if _, err := os.Stat(hc); err != nil {
		testenv.Unavailable(t, "%s missing: run `make tools`", hc)
	}
	env.InstallPlugin(t, hc, "github.com/hashicorp/vsphere")
	sim, err := vcsim.StartWith(t.Context(), vcsim.Options{Mode: vcsim.ModeVCenter, Machines: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })

	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "post-processor", "vsphere-clone.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vsphere-clone.pkr.hcl"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	export, dist := filepath.Join(dir, "export"), filepath.Join(dir, "dist")
	log := env.Build(t, dir,
		"-var", "vcenter_server="+sim.Host, "-var", "vcenter_username="+sim.Username,
		"-var", "vcenter_password="+sim.Password, "-var", "ssh_password=unused",
		"-var", "insecure_connection=true", "-var", "datacenter=DC0", "-var", "cluster=DC0_C0",
		"-var", "datastore=LocalDS_0", "-var", "template=DC0_C0_RP0_VM0", "-var", "communicator=none",
		"-var", "output_directory="+export, "-var", "dist="+dist)
	// vsphere-clone's export carries a SHA256 manifest in its own format:
	// the post-processor must have read and reused it, not hashed again.
	if !strings.Contains(log, "Used and verified the digests of the export's own manifest") {
		t.Errorf("the post-processor did not reuse vsphere-clone's manifest:\n%s", log)
	}
	ovaPath := filepath.Join(dist, "appliance.ova")
	cmd := exec.CommandContext(t.Context(), testenv.LookPath(t, "sha256sum"), "-c", "appliance.ova.sha256")
	cmd.Dir = dist
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c: %v\n%s\n%s", err, b, log)
	}
	a, err := ova.OpenArchive(ovaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	names := a.Names()
	if len(names) < 3 || names[0] != "appliance.ovf" || names[1] != "appliance.mf" || !strings.HasSuffix(names[2], ".vmdk") {
		t.Errorf("OVA members %v, want appliance.ovf, appliance.mf, then the disk", names)
	}
}
