package vsphereova

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/ovf/importer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// ovaPostProcessors replace the demo's post-processor: the builder's OVA is
// re-targeted by vsphere-ova and published by vsphere-ova-library, each
// from the builder's artifact.
const ovaPostProcessors = `post-processor "vsphere-ova" {
    target = ["workstation"]
  }
  post-processor "vsphere-ova-library" {
    vcenter_server      = var.vcenter_server
    username            = var.username
    password            = var.password
    insecure_connection = true
    library             = "appliances"
    create_library      = true
    datastore           = "LocalDS_0"
  }`

// The demo template with export { output_format = "ova" }, run by real
// Packer against the simulator: output_directory holds the OVA and its
// checksum file (no export folder), the OVA's members are .ovf, .mf, disk,
// the checksum and manifest match, the re-targeting and library
// post-processors take it, and it imports back into the simulator with the
// template's hardware and reads in virt-v2v.
func TestPackerDemoTemplateOVA(t *testing.T) {
	env := packerEnv(t)
	src := makeOVA(t, "base", 1)
	srv := simvm.StartWith(t, vcsim.Options{Mode: vcsim.ModeVCenter, VAPI: true})
	srv.AutoGuestIP("10.1.2.3")
	work := t.TempDir()
	tpl, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "builder", "demo.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]string{
		{`manifest         = "sha256"`, `manifest         = "sha256"
    output_format    = "ova"`},
		{`post-processor "vsphere-ova" {}`, ovaPostProcessors},
	} {
		if !bytes.Contains(tpl, []byte(r[0])) {
			t.Fatalf("demo.pkr.hcl no longer has %q", r[0])
		}
		tpl = bytes.Replace(tpl, []byte(r[0]), []byte(r[1]), 1)
	}
	if err := os.WriteFile(filepath.Join(work, "demo.pkr.hcl"), tpl, 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(work, "out")
	out := env.Build(t, work,
		"-var", "vcenter_server="+srv.Host, "-var", "username="+srv.Username, "-var", "password="+srv.Password,
		"-var", "source_path="+src, "-var", "output_directory="+outDir, "-var", "cluster=DC0_C0")
	ents, _ := os.ReadDir(outDir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "demo-appliance-workstation.ova demo-appliance-workstation.ova.sha256 demo-appliance.ova demo-appliance.ova.sha256" {
		t.Fatalf("output_directory holds %s\n%s", got, out)
	}
	for _, want := range []string{"Exported 3 files to " + filepath.Join(outDir, "demo-appliance.ova"), `Published library item "demo-appliance"`} {
		if !strings.Contains(out, want) {
			t.Errorf("packer output lacks %q:\n%s", want, out)
		}
	}
	// One pass: the descriptor fit its room and lists the files in the
	// order the lease delivered them.
	if strings.Contains(out, "The OVA was copied once more") {
		t.Errorf("the export copied the OVA a second time:\n%s", out)
	}
	ovaPath := filepath.Join(outDir, "demo-appliance.ova")
	checkSumFile(t, ovaPath)
	checkBuiltOVA(t, ovaPath)
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
	t.Run("import", func(t *testing.T) {
		ctx := context.Background()
		sim, err := simimport.New(ctx, simvm.Login(t, srv))
		if err != nil {
			t.Fatal(err)
		}
		ref, log, err := sim.Import(ctx, ovaPath, importer.Options{Name: ptr("reimported")},
			false) // the simulator's NFC reports SHA1 digests only; the .mf is SHA256 (checkBuiltOVA verifies it)
		if err != nil {
			t.Fatalf("importing the builder's OVA: %v\n%s", err, log)
		}
		vm, err := sim.VM(ctx, *ref)
		if err != nil {
			t.Fatal(err)
		}
		// The simulator's import leaves cores per socket at 1 whatever the
		// descriptor says; checkBuiltOVA and virt-v2v check that value.
		if hw := vm.Config.Hardware; hw.NumCPU != 4 || hw.MemoryMB != 3072 {
			t.Errorf("imported VM: %d vCPUs, %d MiB; want 4, 3072", hw.NumCPU, hw.MemoryMB)
		}
	})
	t.Run("virt-v2v", func(t *testing.T) {
		virtv2v.Check(t, ovaPath, "demo-appliance", "nr vCPUs: 4", "cores/socket: 2", "memory: 3221225472")
	})
}

func ptr[T any](v T) *T { return &v }

// checkSumFile recomputes the OVA's SHA-256 against its checksum file.
func checkSumFile(t *testing.T, p string) {
	t.Helper()
	sum, err := os.ReadFile(p + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x  %s\n", h.Sum(nil), filepath.Base(p)); string(sum) != want {
		t.Errorf("checksum file %q, want %q", sum, want)
	}
}

// checkBuiltOVA checks the builder's OVA: members .ovf, .mf, disk in that
// order, all matching the manifest, with the template's hardware.
func checkBuiltOVA(t *testing.T, p string) {
	t.Helper()
	a, err := ova.OpenArchive(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var names []string
	for _, m := range a.Members() {
		names = append(names, m.Name)
		rc, _, err := a.Open(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil { // the manifest digest
			t.Errorf("member %s: %v", m.Name, err)
		}
		rc.Close()
	}
	if got := strings.Join(names, " "); got != "demo-appliance.ovf demo-appliance.mf demo-appliance-disk-0.vmdk" {
		t.Errorf("OVA members %s", got)
	}
	d, err := a.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	if hw := readHardware(t, d.Bytes()); hw.CPUs != 4 || hw.CoresPerSocket != 2 || hw.MemoryMB != 3072 {
		t.Errorf("OVA hardware: %d vCPUs, %d cores/socket, %d MiB; want 4, 2, 3072", hw.CPUs, hw.CoresPerSocket, hw.MemoryMB)
	}
}
