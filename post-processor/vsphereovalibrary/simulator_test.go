package vsphereovalibrary

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vapi/vcenter"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// startVAPI runs a vCenter simulator with its REST API (Content Library).
func startVAPI(t *testing.T) *vcsim.Server {
	t.Helper()
	testenv.Require(t, testenv.Simulator, "publishes to the vCenter simulator's content library")
	return simvm.StartWith(t, vcsim.Options{Mode: vcsim.ModeVCenter, VAPI: true})
}

// makeOVA packs a small appliance (cpus vCPUs, memMiB, one 8 MiB disk with
// data) with the plugin's own writers and returns its path.
func makeOVA(t *testing.T, name string, cpus, memMiB int) string {
	t.Helper()
	dir := t.TempDir()
	raw := make([]byte, 8<<20)
	copy(raw[1<<20:], bytes.Repeat([]byte(name), 10000))
	href := ovfvm.DiskHref(name, 0)
	f, err := os.Create(filepath.Join(dir, href))
	if err != nil {
		t.Fatal(err)
	}
	st, err := vmdk.Write(t.Context(), f, bytes.NewReader(raw), int64(len(raw)), vmdk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	cfg := ovfvm.Config{Name: name, CPUs: cpus, Memory: memMiB}
	if errs := cfg.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	desc, err := ovfvm.Generate(&cfg, []ovfvm.Disk{{Href: href, Size: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize}})
	if err != nil {
		t.Fatal(err)
	}
	ovfPath := filepath.Join(dir, name+".ovf")
	if err := os.WriteFile(ovfPath, desc, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), name+".ova")
	if _, err := ova.Pack(t.Context(), ova.Options{OVFPath: ovfPath, Output: out, ChecksumAlgorithm: "none"}); err != nil {
		t.Fatal(err)
	}
	return out
}

type fileArtifact struct {
	packersdk.MockArtifact
	files []string
}

func (a *fileArtifact) Files() []string { return a.files }

func publish(t *testing.T, srv *vcsim.Server, path string, extra map[string]interface{}) (*Artifact, string, error) {
	t.Helper()
	raw := map[string]interface{}{
		"vcenter_server": srv.Host, "username": srv.Username, "password": srv.Password, "insecure_connection": true,
		"library": "appliances", "create_library": true, "datastore": "LocalDS_0",
	}
	for k, v := range extra {
		raw[k] = v
	}
	var p PostProcessor
	if err := p.Configure(raw); err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	ui := &packersdk.BasicUi{Writer: &out, ErrorWriter: &out, PB: &packersdk.NoopProgressTracker{}}
	a, keep, _, err := p.PostProcess(t.Context(), ui, &fileArtifact{files: []string{path}})
	t.Logf("post-processor output:\n%s", out.String())
	if err != nil {
		return nil, out.String(), err
	}
	if !keep {
		t.Error("the input artifact is not kept")
	}
	return a.(*Artifact), out.String(), nil
}

func restClient(t *testing.T, srv *vcsim.Server) *rest.Client {
	t.Helper()
	c := simvm.Login(t, srv)
	rc := rest.NewClient(c)
	if err := rc.Login(t.Context(), srv.URL.User); err != nil {
		t.Fatal(err)
	}
	return rc
}

// Publish, publish again (a new version of the same item), then deploy the
// item through the OVF library-item API and read the VM's hardware back.
func TestPublishAndDeploy(t *testing.T) {
	srv := startVAPI(t)
	first := makeOVA(t, "app", 2, 512)
	a1, out, err := publish(t, srv, first, map[string]interface{}{"description": "the appliance"})
	if err != nil {
		t.Fatal(err)
	}
	if !a1.Created || a1.ItemID == "" || a1.Item != "app" || !strings.Contains(out, "Uploading app.ovf") || !strings.Contains(out, "Uploading app-disk-0.vmdk") {
		t.Errorf("first publication: %+v", a1)
	}
	rc := restClient(t, srv)
	m := library.NewManager(rc)
	files, err := m.ListLibraryItemFiles(t.Context(), a1.ItemID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if strings.Join(names, " ") != "app.ovf app-disk-0.vmdk" {
		t.Errorf("item files %v, want the OVF and its disk", names)
	}

	second := makeOVA(t, "app", 4, 1024)
	a2, _, err := publish(t, srv, second, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The simulator does not raise content_version on an update (vCenter
	// does), so the new version shows in the deployed VM's hardware below.
	if a2.Created || a2.ItemID != a1.ItemID || a2.Version == "" {
		t.Errorf("second publication: created=%v id %s (first %s) version %q; want a new version of the same item",
			a2.Created, a2.ItemID, a1.ItemID, a2.Version)
	}

	ctx := t.Context()
	c := simvm.Login(t, srv)
	f := find.NewFinder(c)
	pool, err := f.ResourcePool(ctx, "/DC0/host/DC0_C0/Resources")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := vcenter.NewManager(rc).DeployLibraryItem(ctx, a2.ItemID, vcenter.Deploy{
		DeploymentSpec: vcenter.DeploymentSpec{Name: "deployed", AcceptAllEULA: true},
		Target:         vcenter.Target{ResourcePoolID: pool.Reference().Value},
	})
	if err != nil {
		t.Fatalf("deploying the library item: %v", err)
	}
	var vm mo.VirtualMachine
	if err := object.NewVirtualMachine(c, *ref).Properties(ctx, *ref, []string{"config"}, &vm); err != nil {
		t.Fatal(err)
	}
	hw := vm.Config.Hardware
	var disks []int64
	for _, d := range hw.Device {
		if vd, ok := d.(*types.VirtualDisk); ok {
			disks = append(disks, vd.CapacityInBytes)
		}
	}
	if hw.NumCPU != 4 || hw.MemoryMB != 1024 || len(disks) != 1 || disks[0] != 8<<20 {
		t.Errorf("deployed VM: %d vCPUs, %d MB, disks %v; want the second version's 4 vCPUs, 1024 MB, one 8 MiB disk", hw.NumCPU, hw.MemoryMB, disks)
	}
}

// replace = false refuses an existing item; a missing library without
// create_library is an error that names it; neither leaves an item behind.
func TestPublishRefusals(t *testing.T) {
	srv := startVAPI(t)
	src := makeOVA(t, "app", 1, 256)
	if _, _, err := publish(t, srv, src, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err := publish(t, srv, src, map[string]interface{}{"replace": false})
	if err == nil || !strings.Contains(err.Error(), `already has an item "app" and replace = false`) {
		t.Errorf("replace = false: %v", err)
	}
	_, _, err = publish(t, srv, src, map[string]interface{}{"library": "nope", "create_library": false})
	if err == nil || !strings.Contains(err.Error(), `library "nope" not found; libraries: appliances`) {
		t.Errorf("missing library: %v", err)
	}
	if items := itemNames(t, srv); strings.Join(items, " ") != "app" {
		t.Errorf("items after the refusals: %v", items)
	}
}

// A member whose bytes do not match the OVA's manifest fails the upload; the
// update session is cancelled and the new item removed.
func TestPublishLyingManifest(t *testing.T) {
	srv := startVAPI(t)
	src := makeOVA(t, "liar", 1, 256)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ova.OpenArchive(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range a.Members() {
		if strings.HasSuffix(m.Name, ".vmdk") {
			data[m.Offset+m.Size-1000] ^= 0xff
		}
	}
	a.Close()
	bad := filepath.Join(t.TempDir(), "liar.ova")
	if err := os.WriteFile(bad, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = publish(t, srv, bad, nil)
	if err == nil || !strings.Contains(err.Error(), "liar-disk-0.vmdk does not match the OVA's manifest") {
		t.Fatalf("lying manifest: %v", err)
	}
	if items := itemNames(t, srv); len(items) != 0 {
		t.Errorf("items left after a failed publication: %v", items)
	}
}

// Ctrl-C during the upload: the publication stops, nothing is left.
func TestPublishCancelled(t *testing.T) {
	srv := startVAPI(t)
	src := makeOVA(t, "cancelled", 1, 256)
	var p PostProcessor
	if err := p.Configure(map[string]interface{}{
		"vcenter_server": srv.Host, "username": srv.Username, "password": srv.Password, "insecure_connection": true,
		"library": "appliances", "create_library": true, "datastore": "LocalDS_0",
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ui := &cancelUi{cancel: cancel, on: "Uploading cancelled-disk-0.vmdk"}
	ui.Writer, ui.ErrorWriter, ui.PB = &ui.out, &ui.out, &packersdk.NoopProgressTracker{}
	_, _, _, err := p.PostProcess(ctx, ui, &fileArtifact{files: []string{src}})
	if err == nil || !strings.Contains(err.Error(), "was cancelled") {
		t.Fatalf("cancelled publication: %v\n%s", err, ui.out.String())
	}
	if items := itemNames(t, srv); len(items) != 0 {
		t.Errorf("items left after a cancelled publication: %v", items)
	}
}

// cancelUi cancels the build when a line containing on is said.
type cancelUi struct {
	packersdk.BasicUi
	out    bytes.Buffer
	cancel context.CancelFunc
	on     string
}

func (u *cancelUi) Say(s string) {
	u.BasicUi.Say(s)
	if strings.Contains(s, u.on) {
		u.cancel()
	}
}

func itemNames(t *testing.T, srv *vcsim.Server) []string {
	t.Helper()
	m := library.NewManager(restClient(t, srv))
	libs, err := m.GetLibraries(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range libs {
		items, err := m.GetLibraryItems(t.Context(), l.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			names = append(names, it.Name)
		}
	}
	return names
}
