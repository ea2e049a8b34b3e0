package vsphereovaqemu

import (
	"bytes"
	"context"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

func testUI(out io.Writer) packersdk.Ui {
	return &packersdk.BasicUi{Reader: strings.NewReader(""), Writer: out, ErrorWriter: out, PB: &packersdk.NoopProgressTracker{}}
}

// smallDisk is a disk image with data at its start, a hole, and data near
// its end, so decode and encode must place both and keep the hole.
func smallDisk(seed int64, size int) []byte {
	d := make([]byte, size)
	r := rand.New(rand.NewSource(seed))
	r.Read(d[:300<<10])
	r.Read(d[size-(70<<10) : size-(6<<10)])
	return d
}

// smallOVA writes an OVA of the given raw disks, made by our VMDK writer,
// OVF generator and OVA packer (no external program), and returns its path.
func smallOVA(t *testing.T, cfg ovfvm.Config, disks ...[]byte) string {
	t.Helper()
	return smallOVAEdited(t, cfg, nil, disks...)
}

// smallOVAEdited is smallOVA with edit, when set, run on each VMDK file
// before the OVA (and its manifest) is made: a broken producer.
func smallOVAEdited(t *testing.T, cfg ovfvm.Config, edit func(path string), disks ...[]byte) string {
	t.Helper()
	dir := t.TempDir()
	var ds []ovfvm.Disk
	for i, d := range disks {
		href := ovfvm.DiskHref(cfg.Name, i)
		f, err := os.Create(filepath.Join(dir, href))
		if err != nil {
			t.Fatal(err)
		}
		st, err := vmdk.Write(context.Background(), f, bytes.NewReader(d), int64(len(d)), vmdk.Options{})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(filepath.Join(dir, href))
		}
		ds = append(ds, ovfvm.Disk{Href: href, Size: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize})
	}
	desc, err := ovfvm.Generate(&cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	ovfPath := filepath.Join(dir, cfg.Name+".ovf")
	if err := os.WriteFile(ovfPath, desc, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), cfg.Name+".ova")
	if _, err := ova.Pack(context.Background(), ova.Options{OVFPath: ovfPath, Output: out, ChecksumAlgorithm: "none"}); err != nil {
		t.Fatal(err)
	}
	return out
}

// prepared decodes raw into a Config and fails the test on errors.
func prepared(t *testing.T, raw map[string]interface{}) *Config {
	t.Helper()
	var c Config
	if _, err := c.Prepare(raw); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return &c
}

// stepRunner runs steps on one state bag, as the runner would.
type stepRunner struct {
	t     *testing.T
	state *multistep.BasicStateBag
	out   *bytes.Buffer
	done  []multistep.Step
}

func newStepRunner(t *testing.T) *stepRunner {
	r := &stepRunner{t: t, state: new(multistep.BasicStateBag), out: new(bytes.Buffer)}
	r.state.Put("ui", testUI(r.out))
	r.state.Put("generated_data", map[string]interface{}{})
	return r
}

func (r *stepRunner) run(s multistep.Step) multistep.StepAction {
	r.done = append(r.done, s)
	return s.Run(context.Background(), r.state)
}

func (r *stepRunner) must(s multistep.Step) {
	r.t.Helper()
	if a := r.run(s); a != multistep.ActionContinue {
		r.t.Fatalf("%T: %v\n%s", s, r.state.Get("error"), r.out)
	}
}

// cleanup runs the Cleanups in reverse, as the runner does.
func (r *stepRunner) cleanup() {
	for i := len(r.done) - 1; i >= 0; i-- {
		r.done[i].Cleanup(r.state)
	}
	r.done = nil
}

func mustEnvelope(t *testing.T, desc []byte) *govmomiovf.Envelope {
	t.Helper()
	env, err := govmomiovf.Unmarshal(bytes.NewReader(desc))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// mustDocument parses a descriptor as readMachine and the export read it.
func mustDocument(t *testing.T, desc []byte) *ovf.Document {
	t.Helper()
	doc, err := ovf.ParseDocument(desc)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
