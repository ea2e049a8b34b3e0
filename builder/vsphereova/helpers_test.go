package vsphereova

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// The fixture's hardware (internal/testkit/fixture): tests and the demo set other
// values, so that an assertion on the export proves a change.
const (
	fixtureCPUs     = 2
	fixtureCores    = 1
	fixtureMemoryMB = 1024
	fixtureDiskMiB  = 64
)

func testUI(out io.Writer) packersdk.Ui {
	return &packersdk.BasicUi{Reader: strings.NewReader(""), Writer: out, ErrorWriter: out, PB: &packersdk.NoopProgressTracker{}}
}

// makeOVA writes a vSphere-export-like folder with real qemu-img disks and
// packs it with our own OVA writer.
func makeOVA(t *testing.T, name string, disks int) string {
	t.Helper()
	return makeOVAWith(t, fixture.ExportOptions{Name: name, Disks: disks, DiskMiB: fixtureDiskMiB, DataMiB: 1, WithManifest: true})
}

// makeOVAData makes a one-disk OVA with dataMiB of incompressible data.
func makeOVAData(t *testing.T, name string, dataMiB int) string {
	t.Helper()
	return makeOVAWith(t, fixture.ExportOptions{Name: name, Disks: 1, DiskMiB: fixtureDiskMiB, DataMiB: dataMiB, WithManifest: true})
}

func makeOVAWith(t *testing.T, o fixture.ExportOptions) string {
	t.Helper()
	o.QemuImg = testenv.LookPath(t, "qemu-img")
	ovfPath, err := fixture.WriteExport(t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), o.Name+".ova")
	if _, err := ova.Pack(context.Background(), ova.Options{OVFPath: ovfPath, Output: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

func baseConfig(srv *vcsim.Server, source string) map[string]interface{} {
	raw := map[string]interface{}{
		"vcenter_server":      srv.Host,
		"username":            srv.Username,
		"password":            srv.Password,
		"insecure_connection": true,
		"source_path":         source,
		"communicator":        "none",
		"ip_wait_timeout":     "1m",
		"ip_settle_timeout":   "100ms",
		"shutdown_timeout":    "1m",
		"packer_build_name":   "test",
	}
	if srv.Mode() == vcsim.ModeVCenter {
		raw["cluster"] = "DC0_C0"
	}
	return raw
}

func runBuild(t *testing.T, ctx context.Context, raw map[string]interface{}) (packersdk.Artifact, string, error) {
	t.Helper()
	return runBuildHook(t, ctx, raw, &packersdk.MockHook{})
}

func runBuildHook(t *testing.T, ctx context.Context, raw map[string]interface{}, hook packersdk.Hook) (packersdk.Artifact, string, error) {
	t.Helper()
	var b Builder
	if _, _, err := b.Prepare(raw); err != nil {
		return nil, "", err
	}
	out := &testenv.SyncBuffer{}
	a, err := b.Run(ctx, testUI(out), hook)
	t.Logf("builder output:\n%s", out.String())
	return a, out.String(), err
}

// stepRun is a state bag and the steps run on it so far; t.Cleanup runs
// their Cleanups in reverse, as the runner does.
type stepRun struct {
	t     *testing.T
	state *multistep.BasicStateBag
	out   *testenv.SyncBuffer
}

func newStepRun(t *testing.T) *stepRun {
	out := &testenv.SyncBuffer{}
	state := new(multistep.BasicStateBag)
	state.Put("ui", testUI(out))
	state.Put("generated_data", map[string]interface{}{})
	t.Cleanup(func() { t.Logf("step output:\n%s", out.String()) })
	return &stepRun{t: t, state: state, out: out}
}

// run runs step and returns its action; on a halt the error is in "error".
func (r *stepRun) run(step multistep.Step) multistep.StepAction {
	r.t.Cleanup(func() { step.Cleanup(r.state) })
	return step.Run(context.Background(), r.state)
}

// must runs step and fails the test unless it continues.
func (r *stepRun) must(step multistep.Step) {
	r.t.Helper()
	if a := r.run(step); a != multistep.ActionContinue {
		r.t.Fatalf("%T: %v", step, r.state.Get("error"))
	}
}

// prepared returns the builder's Config for raw, failing the test on errors.
func prepared(t *testing.T, raw map[string]interface{}) *Config {
	t.Helper()
	var c Config
	if _, err := c.Prepare(raw); err != nil {
		t.Fatal(err)
	}
	return &c
}

// importVM runs the builder's own steps up to the import of src into srv.
func importVM(t *testing.T, srv *vcsim.Server, src string, edit func(raw map[string]interface{})) (*stepRun, *Config) {
	t.Helper()
	raw := baseConfig(srv, src)
	if edit != nil {
		edit(raw)
	}
	c := prepared(t, raw)
	r := newStepRun(t)
	r.must(c.SourceConfig.OpenStep())
	r.must(&stepConnect{config: &c.ConnectConfig})
	r.must(&stepImport{location: &c.LocationConfig, config: &c.ImportConfig, output: &c.OutputConfig})
	return r, c
}

// hardware is what an exported descriptor says about the VM.
type hardware struct {
	CPUs, CoresPerSocket int
	MemoryMB             int64
	DiskBytes            []int64 // capacity per disk, in DiskSection order
}

// readHardware parses an OVF descriptor with govmomi's parser (not ours, and
// not a string search) and returns its CPU, memory and disk capacities.
func readHardware(t *testing.T, desc []byte) hardware {
	t.Helper()
	env, err := govmomiovf.Unmarshal(bytes.NewReader(desc))
	if err != nil {
		t.Fatalf("govmomi ovf.Unmarshal: %v", err)
	}
	if env.VirtualSystem == nil || len(env.VirtualSystem.VirtualHardware) == 0 || env.Disk == nil {
		t.Fatalf("descriptor has no virtual system, hardware section or disk section:\n%s", desc)
	}
	var hw hardware
	for _, item := range env.VirtualSystem.VirtualHardware[0].Item {
		if item.ResourceType == nil || item.VirtualQuantity == nil {
			continue
		}
		switch *item.ResourceType {
		case govmomiovf.Processor:
			hw.CPUs = int(*item.VirtualQuantity)
			if item.CoresPerSocket != nil {
				hw.CoresPerSocket = int(item.CoresPerSocket.Value)
			}
		case govmomiovf.Memory:
			hw.MemoryMB = int64(*item.VirtualQuantity)
		}
	}
	for _, d := range env.Disk.Disks {
		capacity, err := capacityBytes(d)
		if err != nil {
			t.Fatal(err)
		}
		hw.DiskBytes = append(hw.DiskBytes, capacity)
	}
	return hw
}

// capacityBytes reads ovf:capacity with its allocation units, with
// govmomi's unit parser.
func capacityBytes(d govmomiovf.VirtualDiskDesc) (int64, error) {
	n, err := strconv.ParseInt(d.Capacity, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("disk %s: ovf:capacity %q: %v", d.DiskID, d.Capacity, err)
	}
	units := "byte"
	if d.CapacityAllocationUnits != nil {
		units = *d.CapacityAllocationUnits
	}
	m := govmomiovf.ParseCapacityAllocationUnits(units)
	if m == 0 {
		return 0, fmt.Errorf("disk %s: ovf:capacityAllocationUnits %q is not valid", d.DiskID, units)
	}
	return n * m, nil
}

// writeTar writes a tar archive with the given members (in order).
func writeTar(t *testing.T, p string, members map[string][]byte, order []string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range order {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(members[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(members[n])
	}
	tw.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// exportFiles checks that every file is 0644 (an export is for sharing, as
// the OVA made from it) and returns their base names, in order.
func exportFiles(t *testing.T, files []string) string {
	t.Helper()
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", f, st.Mode().Perm())
		}
	}
	return strings.Join(names, " ")
}

// extraConfig reads the VM's extraConfig (VMX options) from the inventory.
func extraConfig(t *testing.T, vm *object.VirtualMachine) map[string]string {
	t.Helper()
	var o mo.VirtualMachine
	if err := vm.Properties(t.Context(), vm.Reference(), []string{"config.extraConfig"}, &o); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, ov := range o.Config.ExtraConfig {
		v := ov.GetOptionValue()
		out[v.Key], _ = v.Value.(string)
	}
	return out
}
