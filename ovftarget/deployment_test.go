package ovftarget

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/ovf/importer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// sizes is a VCSA-like set: one option without sizes (the VM as built), a
// default that is not the first, and a large one.
var sizes = []DeploymentOption{
	{ID: "tiny", Label: "Tiny"},
	{ID: "small", Label: "Small (4 vCPU, 4 GB)", Description: "Up to 10 hosts", Default: true, CPUs: 4, MemoryMiB: 4096},
	{ID: "large", CPUs: 8, MemoryMiB: 16384},
}

func addOptions(t *testing.T, desc []byte, target Target, opts []DeploymentOption) *Result {
	t.Helper()
	r, err := AddDeploymentOptions(desc, target, opts)
	if err != nil {
		t.Fatalf("AddDeploymentOptions(%s): %v", target, err)
	}
	return r
}

func envelope(t *testing.T, desc []byte) *govmomiovf.Envelope {
	t.Helper()
	env, err := govmomiovf.Unmarshal(bytes.NewReader(desc))
	if err != nil {
		t.Fatalf("govmomi ovf.Unmarshal: %v\n%s", err, desc)
	}
	return env
}

// quantities maps "<ResourceType>/<configuration>" to VirtualQuantity, ""
// being the items without ovf:configuration.
func quantities(env *govmomiovf.Envelope) map[string][]uint {
	out := map[string][]uint{}
	for _, it := range env.VirtualSystem.VirtualHardware[0].Item {
		if it.ResourceType == nil || (*it.ResourceType != 3 && *it.ResourceType != 4) || it.VirtualQuantity == nil {
			continue
		}
		conf := ""
		if it.Configuration != nil {
			conf = *it.Configuration
		}
		key := map[uint16]string{3: "cpu", 4: "mem"}[uint16(*it.ResourceType)] + "/" + conf
		out[key] = append(out[key], *it.VirtualQuantity)
	}
	return out
}

// For vsphere: the section as DSP0243 has it (ids in order, one default,
// labels and descriptions), and a CPU and memory copy per sized option,
// next to the VM's own unconditioned items, as govmomi reads them.
func TestDeploymentOptionsVSphere(t *testing.T) {
	r := addOptions(t, ovftest.Basic(), VSphere, sizes)
	env := envelope(t, r.Descriptor)
	sec := env.DeploymentOption
	if sec == nil {
		t.Fatalf("no DeploymentOptionSection:\n%s", r.Descriptor)
	}
	var ids, defaults []string
	for _, c := range sec.Configuration {
		ids = append(ids, c.ID)
		if c.Default != nil && *c.Default {
			defaults = append(defaults, c.ID)
		}
	}
	if !slices.Equal(ids, []string{"tiny", "small", "large"}) || !slices.Equal(defaults, []string{"small"}) {
		t.Errorf("configurations %q, defaults %q", ids, defaults)
	}
	if c := sec.Configuration[1]; c.Label != "Small (4 vCPU, 4 GB)" || c.Description != "Up to 10 hosts" {
		t.Errorf("small: label %q, description %q", c.Label, c.Description)
	}
	if c := sec.Configuration[2]; c.Label != "large" || c.Description != "large" {
		t.Errorf("large: label %q, description %q; want the id for both", c.Label, c.Description)
	}
	got := quantities(env)
	want := map[string][]uint{"cpu/": {2}, "mem/": {1024}, "cpu/small": {4}, "mem/small": {4096}, "cpu/large": {8}, "mem/large": {16384}}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s: quantities %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("items %v, want %v", got, want)
	}
	s := string(r.Descriptor)
	if strings.Index(s, "<DeploymentOptionSection>") > strings.Index(s, "<VirtualSystem") {
		t.Error("DeploymentOptionSection comes after the VirtualSystem; the schema wants Envelope sections before the content")
	}
	// The copy follows its original: readers that take the last item of an
	// InstanceID see the option's value.
	if strings.Index(s, `<Item ovf:configuration="small"`) < strings.Index(s, "<rasd:ElementName>2 virtual CPU(s)") {
		t.Error("the small CPU copy precedes the VM's own CPU item")
	}
}

// Without a default, the first option is marked default.
func TestDeploymentOptionsFirstIsDefault(t *testing.T) {
	opts := []DeploymentOption{{ID: "a", CPUs: 1}, {ID: "b", CPUs: 2}}
	env := envelope(t, addOptions(t, ovftest.Basic(), VSphere, opts).Descriptor)
	for i, c := range env.DeploymentOption.Configuration {
		if isDefault := c.Default != nil && *c.Default; isDefault != (i == 0) {
			t.Errorf("%s: default %v", c.ID, isDefault)
		}
	}
}

// Workstation, VirtualBox and portable have no configurations: the VM gets
// the default option's size, no section, no ovf:configuration, and a
// warning names the options left out.
func TestDeploymentOptionsOtherTargets(t *testing.T) {
	for _, target := range []Target{Workstation, VirtualBox, Portable} {
		c := customize(t, ovftest.Basic(), target, prepared(t, Customization{}))
		r := addOptions(t, c.Descriptor, target, sizes)
		env := envelope(t, r.Descriptor)
		if env.DeploymentOption != nil || bytes.Contains(r.Descriptor, []byte("configuration=")) {
			t.Errorf("%s: configurations written for a target that cannot read them:\n%s", target, r.Descriptor)
		}
		got := quantities(env)
		if !slices.Equal(got["cpu/"], []uint{4}) || !slices.Equal(got["mem/"], []uint{4096}) || len(got) != 2 {
			t.Errorf("%s: CPU and memory %v, want the default option's 4 and 4096", target, got)
		}
		if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], `"small"`) || !strings.Contains(r.Warnings[0], "tiny, large") {
			t.Errorf("%s: warnings %q", target, r.Warnings)
		}
	}
}

func TestDeploymentOptionsErrors(t *testing.T) {
	withSection := addOptions(t, ovftest.Basic(), VSphere, sizes).Descriptor
	noMemory := bytes.Replace(ovftest.Basic(), []byte("<rasd:ResourceType>4</rasd:ResourceType>"), []byte("<rasd:ResourceType>1</rasd:ResourceType>"), 1)
	for _, tc := range []struct {
		name string
		desc []byte
		opts []DeploymentOption
		want string
	}{
		{"section exists", withSection, sizes, "already has a DeploymentOptionSection"},
		{"configured items", bytes.ReplaceAll(withSection, []byte("DeploymentOptionSection"), []byte("OtherSection")), sizes, "already has ovf:configuration"},
		{"no memory item", noMemory, []DeploymentOption{{ID: "big", MemoryMiB: 2048}}, `deployment_option "big" sets RAM, but the descriptor has no memory item`},
	} {
		_, err := AddDeploymentOptions(tc.desc, VSphere, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if r := addOptions(t, ovftest.Basic(), VSphere, nil); !bytes.Equal(r.Descriptor, ovftest.Basic()) {
		t.Error("no options changed the descriptor")
	}
}

// govmomi's importer against the vCenter simulator, choosing each option
// (what `govc import.ovf -options` with "Deployment" and vCenter's wizard
// do): the created VM has the option's CPUs and memory, the VM's own for
// an option without sizes, and the default's when none is chosen.
// importer.Spec (`govc import.spec`) offers the default first.
func TestDeploymentOptionsInVCSimulator(t *testing.T) {
	testenv.Require(t, testenv.Simulator, "imports into the vCenter simulator")
	dir := t.TempDir()
	const name = "sized-vm"
	ovfPath, err := fixture.WriteExport(dir, fixture.ExportOptions{Name: name, DiskMiB: 8, QemuImg: testenv.LookPath(t, "qemu-img")})
	if err != nil {
		t.Fatal(err)
	}
	export, err := os.ReadFile(ovfPath)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(strings.TrimSuffix(ovfPath, ".ovf") + ".mf")
	if err := os.WriteFile(ovfPath, addOptions(t, export, VSphere, sizes).Descriptor, 0o600); err != nil {
		t.Fatal(err)
	}
	spec, err := importer.Spec(ovfPath, &importer.FileArchive{Path: ovfPath}, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Deployment != "small" || !slices.Equal(spec.AllDeploymentOptions, []string{"small", "tiny", "large"}) {
		t.Errorf("import spec: Deployment %q, options %q; want small first", spec.Deployment, spec.AllDeploymentOptions)
	}
	simimport.Run(t, func(ctx context.Context, sim *simimport.Env) error {
		for _, tc := range []struct {
			choose    string
			cpus, mib int
		}{{"", 4, 4096}, {"tiny", 2, 1024}, {"small", 4, 4096}, {"large", 8, 16384}} {
			vmName := name + "-" + tc.choose
			ref, log, err := sim.Import(ctx, ovfPath, importer.Options{
				Name:           &vmName,
				Deployment:     tc.choose,
				NetworkMapping: []importer.Network{{Name: "VM Network", Network: "VM Network"}},
			}, false)
			if err != nil {
				t.Errorf("option %q: govmomi import: %v\n%s", tc.choose, err, log)
				continue
			}
			vm, err := sim.VM(ctx, *ref)
			if err != nil {
				return err
			}
			if hw := vm.Config.Hardware; int(hw.NumCPU) != tc.cpus || int(hw.MemoryMB) != tc.mib {
				t.Errorf("option %q: VM has %d CPUs and %d MiB, want %d and %d", tc.choose, hw.NumCPU, hw.MemoryMB, tc.cpus, tc.mib)
			}
		}
		return nil
	})
}
