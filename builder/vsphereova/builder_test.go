package vsphereova

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// A whole build in both modes: import, reconfigure, boot, IP, shutdown,
// export. The hardware values differ from the fixture's (2 vCPUs, 1 core per
// socket, 1024 MiB, 64 MiB disks), and the export's descriptor is parsed with
// govmomi, so each assertion fails if its reconfiguration is lost.
func TestBuildImportExport(t *testing.T) {
	for _, mode := range []string{vcsim.ModeVCenter, vcsim.ModeESXi} {
		t.Run(mode, func(t *testing.T) {
			src := makeOVA(t, "base", 2)
			srv := simvm.Start(t, mode)
			srv.AutoGuestIP("10.20.30.40")
			outDir := filepath.Join(t.TempDir(), "export")
			raw := baseConfig(srv, src)
			raw["vm_name"] = "built-" + mode
			raw["CPUs"] = 6
			raw["cpu_cores"] = 3
			raw["RAM"] = 1536
			raw["disk_sizes"] = []int64{128}
			raw["configuration_parameters"] = map[string]string{"guestinfo.test": "yes"}
			raw["export"] = map[string]interface{}{"output_directory": outDir, "name": "appliance"}
			if mode == vcsim.ModeVCenter {
				raw["datacenter"] = "DC0"
				raw["datastore"] = "LocalDS_0"
				raw["network_mapping"] = []map[string]interface{}{{"name": "VM Network", "network": "DC0_DVPG0"}}
			}
			a, out, err := runBuild(t, context.Background(), raw)
			if err != nil {
				t.Fatalf("build failed: %v", err)
			}
			if !strings.Contains(out, "IP address: 10.20.30.40") {
				t.Errorf("the IP from VMware Tools was not reported")
			}
			if a.BuilderId() != BuilderId {
				t.Errorf("BuilderId = %q", a.BuilderId())
			}
			if got, want := exportFiles(t, a.Files()), "appliance-disk-0.vmdk appliance-disk-1.vmdk appliance.ovf appliance.mf"; got != want {
				t.Errorf("artifact files = %s, want %s", got, want)
			}
			checkManifest(t, outDir, "appliance", 3)

			desc, err := os.ReadFile(filepath.Join(outDir, "appliance.ovf"))
			if err != nil {
				t.Fatal(err)
			}
			hw := readHardware(t, desc)
			if hw.CPUs != 6 || hw.CoresPerSocket != 3 || hw.MemoryMB != 1536 {
				t.Errorf("exported hardware: %d vCPUs, %d cores/socket, %d MiB; want 6, 3, 1536 (fixture: %d, %d, %d)",
					hw.CPUs, hw.CoresPerSocket, hw.MemoryMB, fixtureCPUs, fixtureCores, fixtureMemoryMB)
			}
			if len(hw.DiskBytes) != 2 || hw.DiskBytes[0] != 128<<20 || hw.DiskBytes[1] != fixtureDiskMiB<<20 {
				t.Errorf("exported disk capacities %v, want [%d %d] (first grown to 128 MiB)", hw.DiskBytes, 128<<20, fixtureDiskMiB<<20)
			}
			d, err := ovf.Parse(desc)
			if err != nil {
				t.Fatalf("our parser rejects the exported descriptor: %v", err)
			}
			if len(d.Files()) != 2 {
				t.Errorf("exported descriptor references %d files, want 2", len(d.Files()))
			}
			checkRegistryImage(t, a, mode)
			if ents, _ := os.ReadDir(outDir); len(ents) != 4 {
				t.Errorf("output_directory holds %d entries, want exactly the 4 artifact files", len(ents))
			}
			if vms := srv.VMNames(); len(vms) != 0 {
				t.Errorf("VMs left in the inventory: %v", vms)
			}
		})
	}
}

// checkRegistryImage checks the HCP Packer metadata of a real build: it
// describes the VM as built (6 vCPUs), not as imported.
func checkRegistryImage(t *testing.T, a packersdk.Artifact, mode string) {
	t.Helper()
	img, ok := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if !ok {
		t.Fatalf("no HCP Packer image in the artifact's state")
	}
	dc := "ha-datacenter"
	if mode == vcsim.ModeVCenter {
		dc = "DC0"
		if img.Labels["cluster"] != "DC0_C0" {
			t.Errorf("cluster label %q", img.Labels["cluster"])
		}
	}
	if img.ProviderName != "vsphere" || img.ImageID != "built-"+mode || img.ProviderRegion != dc {
		t.Errorf("image %s", img)
	}
	for k, v := range map[string]string{"num_cpu": "6", "num_cores_per_socket": "3", "memory_mb": "1536", "datastore": "LocalDS_0", "kept": "false"} {
		if img.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, img.Labels[k], v)
		}
	}
	if !strings.HasSuffix(img.Labels["export_ovf"], "appliance.ovf") {
		t.Errorf("export_ovf label %q", img.Labels["export_ovf"])
	}
}

// checkManifest checks that <name>.mf lists every other file of dir with
// its SHA-256, the descriptor first.
func checkManifest(t *testing.T, dir, name string, entries int) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name+".mf"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := ovf.ParseManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(mf.Entries) != entries || mf.Entries[0].Name != name+".ovf" {
		t.Errorf("manifest has %d entries, want %d with %s.ovf first:\n%s", len(mf.Entries), entries, name, data)
	}
	for _, e := range mf.Entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if e.Algorithm != "sha256" || e.Digest != hex.EncodeToString(sum[:]) {
			t.Errorf("manifest entry %+v does not match the file", e)
		}
	}
}

// Every one of these must fail before anything is created in vSphere.
func TestErrorsBeforeCreate(t *testing.T) {
	good := makeOVA(t, "good", 1)
	srv := simvm.Start(t, vcsim.ModeVCenter)
	srv.AutoGuestIP("10.0.0.9")
	ar, err := ova.OpenArchive(good)
	if err != nil {
		t.Fatal(err)
	}
	descName := ar.DescriptorName()
	d, err := ar.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	descBytes := d.Bytes()
	ar.Close()

	dir := t.TempDir()
	noOVF := filepath.Join(dir, "no-ovf.ova")
	writeTar(t, noOVF, map[string][]byte{"disk.vmdk": []byte("x")}, []string{"disk.vmdk"})
	missingDisk := filepath.Join(dir, "missing-disk.ova")
	writeTar(t, missingDisk, map[string][]byte{descName: descBytes}, []string{descName})

	cases := []struct {
		name string
		edit func(raw map[string]interface{})
		want []string
	}{
		{"ova without ovf", func(r map[string]interface{}) { r["source_path"] = noOVF }, []string{"no .ovf descriptor", "disk.vmdk", "no-ovf.ova"}},
		{"missing disk", func(r map[string]interface{}) { r["source_path"] = missingDisk }, []string{"references", "good-disk-0.vmdk", "no member"}},
		{"checksum mismatch", func(r map[string]interface{}) { r["source_checksum"] = "sha256:" + strings.Repeat("0", 64) }, []string{"source_checksum mismatch", "computed sha256:"}},
		{"unknown network", func(r map[string]interface{}) {
			r["network_mapping"] = []map[string]interface{}{{"name": "VM Network", "network": "no-such-net"}}
		}, []string{`network "no-such-net"`, "not found", "DC0_DVPG0"}},
		{"unknown ovf network", func(r map[string]interface{}) {
			r["network_mapping"] = []map[string]interface{}{{"name": "Bogus", "network": "VM Network"}}
		}, []string{`declares no network "Bogus"`, "VM Network"}},
		{"unknown datastore", func(r map[string]interface{}) { r["datastore"] = "nope" }, []string{`datastore "nope" not found`, "LocalDS_0"}},
		{"unknown datacenter", func(r map[string]interface{}) { r["datacenter"] = "DCX" }, []string{`datacenter "DCX" not found`, "DC0"}},
		{"unknown cluster", func(r map[string]interface{}) { r["cluster"] = "CX" }, []string{`cluster "CX" not found`, "DC0_C0"}},
		{"unknown host", func(r map[string]interface{}) { r["host"] = "HX" }, []string{`host "HX" not found`, "DC0_C0_H0"}},
		{"unknown resource pool", func(r map[string]interface{}) { r["resource_pool"] = "RPX" }, []string{`resource_pool "RPX" not found`, "Resources"}},
		{"unknown folder", func(r map[string]interface{}) { r["folder"] = "FX" }, []string{`folder "FX" not found`}},
		{"ambiguous placement", func(r map[string]interface{}) { delete(r, "cluster") }, []string{"set cluster, host or resource_pool", "DC0_C0", "DC0_H0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := baseConfig(srv, good)
			c.edit(raw)
			_, _, err := runBuild(t, context.Background(), raw)
			if err == nil {
				t.Fatal("build succeeded, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), srv.Password) && srv.Password != "" {
				t.Errorf("error leaks the password")
			}
			if vms := srv.VMNames(); len(vms) != 0 {
				t.Errorf("VMs created before the error: %v", vms)
			}
		})
	}
}

// Cancelling the context mid-way leaves no VM and no export files.
func TestCancelCleansUp(t *testing.T) {
	src := makeOVA(t, "cancel", 1)
	srv := simvm.Start(t, vcsim.ModeVCenter)
	// No guest IP is ever reported, so the build sits in the IP wait until
	// cancelled: the VM exists by then. The test watches the builder's output
	// rather than the inventory, which vcsim updates without locks while it
	// creates the VM.
	outDir := filepath.Join(t.TempDir(), "out")
	raw := baseConfig(srv, src)
	raw["export"] = map[string]interface{}{"output_directory": outDir}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var b Builder
	if _, _, err := b.Prepare(raw); err != nil {
		t.Fatal(err)
	}
	out := &cancelOn{want: "Waiting up to", cancel: cancel}
	_, err := b.Run(ctx, testUI(out), &packersdk.MockHook{})
	t.Logf("builder output:\n%s", out.String())
	if err == nil {
		t.Fatal("cancelled build succeeded")
	}
	if !out.seen.Load() {
		t.Fatal("the build never reached the IP wait, so the cancel tested nothing")
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("output_directory exists after a cancelled build (err=%v)", err)
	}
	if left, _ := atomicfile.Leftovers(filepath.Dir(outDir)); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// cancelOn is UI output that cancels the build once want is written.
type cancelOn struct {
	testenv.SyncBuffer
	want   string
	cancel context.CancelFunc
	seen   atomic.Bool
}

func (c *cancelOn) Write(p []byte) (int, error) {
	n, err := c.SyncBuffer.Write(p)
	if strings.Contains(c.SyncBuffer.String(), c.want) && !c.seen.Swap(true) {
		time.AfterFunc(300*time.Millisecond, c.cancel)
	}
	return n, err
}

// A failure after the VM exists (no IP within ip_wait_timeout) destroys it,
// unless Packer runs with -on-error=abort, which must leave it for inspection.
func TestOnErrorAbortKeepsVM(t *testing.T) {
	src := makeOVA(t, "abort", 1)
	for _, c := range []struct {
		onError string
		left    int
	}{{"cleanup", 0}, {"abort", 1}} {
		t.Run(c.onError, func(t *testing.T) {
			srv := simvm.Start(t, vcsim.ModeESXi) // no AutoGuestIP: the IP wait times out
			raw := baseConfig(srv, src)
			raw["ip_wait_timeout"] = "2s"
			raw["packer_on_error"] = c.onError
			_, _, err := runBuild(t, context.Background(), raw)
			if err == nil || !strings.Contains(err.Error(), "no IP address after ip_wait_timeout") {
				t.Fatalf("err = %v, want an IP wait timeout", err)
			}
			if vms := srv.VMNames(); len(vms) != c.left {
				t.Errorf("-on-error=%s: inventory = %v, want %d VMs", c.onError, vms, c.left)
			}
		})
	}
}
