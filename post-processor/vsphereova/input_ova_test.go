package vsphereova

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"
)

// An OVA this post-processor wrote, given back to it (as artifice would):
// re-targeted to workstation, virtualbox and portable with a product and a
// property, each disk read once (the OVA's manifest is reused and checked
// while copying), the disks' bytes unchanged, and the workstation OVA read
// by virt-v2v.
func TestRetargetOwnOVA(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "packs a qemu-img export, runs virt-v2v")
	const name = "own-vm"
	_, files := export(t, fixture.ExportOptions{Name: name, DiskMiB: 8, DataMiB: 1, WithManifest: true})
	src, _ := mustPack(t, files, map[string]interface{}{})
	srcDisk := member(t, src.Path, fixture.DiskName(name, 0))

	targets := []string{"workstation", "virtualbox", "portable"}
	config := func() map[string]interface{} {
		return map[string]interface{}{
			"target":   []interface{}{"workstation", "virtualbox", "portable"},
			"product":  map[string]interface{}{"name": "Own Appliance", "version": "2.0"},
			"property": []map[string]interface{}{{"key": "ip0", "label": "IP address", "value": "192.0.2.1"}},
		}
	}
	art, uiOut := mustPack(t, []string{src.Path, src.ChecksumPath}, config())
	// The same options on the export folder: the same descriptor and manifest per target.
	fromExport := config()
	fromExport["output"] = filepath.Join(t.TempDir(), "{{.Target}}.ova")
	want, _ := mustPack(t, files, fromExport)
	if !strings.Contains(uiOut, "Used and verified the digests of the export's own manifest (each disk byte read once)") {
		t.Errorf("the input OVA's manifest was not reused:\n%s", uiOut)
	}
	if len(art.OVAs) != len(targets) {
		t.Fatalf("%d OVAs, want %d", len(art.OVAs), len(targets))
	}
	base := strings.TrimSuffix(src.Path, ".ova")
	for i, o := range art.OVAs {
		if want := base + "-" + targets[i] + ".ova"; o.Target != targets[i] || o.Path != want {
			t.Errorf("OVA %d: %s at %s, want %s at %s", i, o.Target, o.Path, targets[i], want)
		}
		if got := member(t, o.Path, fixture.DiskName(name, 0)); !bytes.Equal(got, srcDisk) {
			t.Errorf("%s: the disk differs from the input OVA's", o.Target)
		}
		desc := member(t, o.Path, name+".ovf")
		for _, m := range []string{name + ".ovf", name + ".mf"} {
			if got, w := member(t, o.Path, m), member(t, want.OVAs[i].Path, m); !bytes.Equal(got, w) {
				t.Errorf("%s: %s differs from the one made from the export folder:\n%s\n---\n%s", o.Target, m, got, w)
			}
		}
		env, err := govmomiovf.Unmarshal(bytes.NewReader(desc))
		if err != nil {
			t.Fatalf("%s: %v", o.Target, err)
		}
		vs := env.VirtualSystem
		if len(vs.Product) != 1 || vs.Product[0].Product != "Own Appliance" || len(vs.Product[0].Property) != 1 || vs.Product[0].Property[0].Key != "ip0" {
			t.Errorf("%s: product and properties read back as %+v", o.Target, vs.Product)
		}
		if o.Target == "virtualbox" {
			if err := ovftest.CheckVirtualBox(desc, o.Members[2:], ovftest.VirtualBoxLegacy); err != nil {
				t.Errorf("virtualbox: %v", err)
			}
		}
	}
	virtv2v.Check(t, art.OVAs[0].Path, "source name: "+name, "disks:\n\t0 ")
}

// OVAs other tools wrote: GNU tar with the manifest last; `tar -C dir .`
// (a "./" folder entry, "./"-prefixed names, directory order); Python's
// tarfile in PAX format with the manifest first, the descriptor last and a
// member the descriptor does not reference. The vsphere target re-packs each
// in our order, descriptor first, with a fresh manifest, and leaves the
// stray member out saying so.
func TestRetargetForeignOVA(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "packs a qemu-img export with GNU tar and Python's tarfile")
	tarBin := testenv.LookPath(t, "tar")
	python := testenv.LookPath(t, "python3")
	const name = "foreign-vm"
	ovfPath, _ := export(t, fixture.ExportOptions{Name: name, DiskMiB: 8, DataMiB: 1, WithManifest: true})
	dir := filepath.Dir(ovfPath)
	diskName := fixture.DiskName(name, 0)
	disk, err := os.ReadFile(filepath.Join(dir, diskName))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(disk)
	const pyTar = `import sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for n in sys.argv[3:]:
        t.add(sys.argv[2] + "/" + n, arcname=n)
`
	for _, tc := range []struct {
		name  string
		make  func(src string)
		stray bool
	}{
		{"gnu tar, manifest last", func(src string) {
			mustRun(t, dir, tarBin, "--format=gnu", "-cf", src, name+".ovf", diskName, name+".mf")
		}, false},
		{"tar of the folder", func(src string) { mustRun(t, dir, tarBin, "-C", dir, "-cf", src, ".") }, false},
		{"python tarfile, descriptor last", func(src string) {
			writeTestFile(t, filepath.Join(dir, "notes.txt"), []byte("not referenced\n"))
			defer os.Remove(filepath.Join(dir, "notes.txt"))
			mustRun(t, dir, python, "-c", pyTar, src, dir, name+".mf", diskName, "notes.txt", name+".ovf")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "foreign.ova")
			tc.make(src)
			out := filepath.Join(t.TempDir(), "out.ova")
			art, uiOut := mustPack(t, []string{src}, map[string]interface{}{"output": out})
			if want := []string{name + ".ovf", name + ".mf", diskName}; strings.Join(art.Members, " ") != strings.Join(want, " ") {
				t.Errorf("members %q, want %q", art.Members, want)
			}
			if got := member(t, art.Path, diskName); !bytes.Equal(got, disk) {
				t.Error("the re-packed disk differs from the foreign OVA's")
			}
			if mf := member(t, art.Path, name+".mf"); !strings.Contains(string(mf), "SHA256("+diskName+")= "+hex.EncodeToString(h[:])) {
				t.Errorf("manifest lacks the disk's digest:\n%s", mf)
			}
			if said := strings.Contains(uiOut, "Leaving out 1 file(s) of the input artifact that foreign.ova does not reference: notes.txt"); said != tc.stray {
				t.Errorf("stray member reported: %v, want %v:\n%s", said, tc.stray, uiOut)
			}
		})
	}
}

// A disk changed after its manifest was written: refused, naming the member
// and both digests, and nothing is written.
func TestRetargetLyingManifest(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "packs a qemu-img export with GNU tar")
	tarBin := testenv.LookPath(t, "tar")
	const name = "lying-vm"
	ovfPath, _ := export(t, fixture.ExportOptions{Name: name, DiskMiB: 8, DataMiB: 1, WithManifest: true})
	dir := filepath.Dir(ovfPath)
	diskPath := filepath.Join(dir, fixture.DiskName(name, 0))
	b, err := os.ReadFile(diskPath)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	writeTestFile(t, diskPath, b)
	srcDir := t.TempDir()
	src := filepath.Join(srcDir, "lying.ova")
	mustRun(t, dir, tarBin, "-cf", src, name+".ovf", name+".mf", fixture.DiskName(name, 0))
	for _, targets := range [][]interface{}{{"vsphere"}, {"vsphere", "workstation"}} {
		_, _, err := pack(t.Context(), t, []string{src}, map[string]interface{}{"target": targets})
		if err == nil {
			t.Fatalf("targets %v: a disk that does not match the manifest was packed", targets)
		}
		re := regexp.MustCompile(fixture.DiskName(name, 0) + ` does not match the manifest of .*lying\.ova: SHA256 expected [0-9a-f]{64}, actual [0-9a-f]{64}`)
		if !re.MatchString(err.Error()) {
			t.Errorf("targets %v: error %q does not name the member and both digests", targets, err)
		}
		if left := listDir(t, srcDir); len(left) != 1 {
			t.Errorf("targets %v: files written beside the input: %q", targets, left)
		}
	}
}

// TestPackerRetargetOVA runs real Packer on
// example/post-processor/retarget.pkr.hcl: null builder -> artifice (an
// OVA this post-processor wrote) -> vsphere-ova with three targets and two
// deployment options. The vsphere OVA offers both options, the others carry
// the default's size; every OVA's checksum file verifies.
func TestPackerRetargetOVA(t *testing.T) {
	testenv.Require(t, testenv.Packer, "builds the plugin and runs packer")
	env := packertest.New(t)
	const name = "retarget-vm"
	_, files := export(t, fixture.ExportOptions{Name: name, DiskMiB: 8, DataMiB: 1, WithManifest: true})
	src, _ := mustPack(t, files, map[string]interface{}{})
	dir, outDir := t.TempDir(), t.TempDir()
	tmpl, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "post-processor", "retarget.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(dir, "retarget.pkr.hcl"), tmpl)
	out := env.Build(t, dir, "-var", "ova="+src.Path, "-var", "output_dir="+outDir)
	if !strings.Contains(out, "Used and verified the digests of the export's own manifest") {
		t.Errorf("the input OVA's manifest was not reused:\n%s", out)
	}
	sum := testenv.LookPath(t, "sha256sum")
	for target, wantCPUs := range map[string]string{"vsphere": "=2 small=2 large=4", "workstation": "=2", "virtualbox": "=2"} {
		path := filepath.Join(outDir, target+".ova")
		if o := mustRun(t, outDir, sum, "-c", target+".ova.sha256"); strings.TrimSpace(o) != target+".ova: OK" {
			t.Errorf("%s: sha256sum -c: %q", target, o)
		}
		env, err := govmomiovf.Unmarshal(bytes.NewReader(member(t, path, name+".ovf")))
		if err != nil {
			t.Fatal(err)
		}
		var cpus []string
		for _, it := range env.VirtualSystem.VirtualHardware[0].Item {
			if it.ResourceType != nil && *it.ResourceType == 3 {
				c := ""
				if it.Configuration != nil {
					c = *it.Configuration
				}
				cpus = append(cpus, c+"="+strconv.FormatUint(uint64(*it.VirtualQuantity), 10))
			}
		}
		if got := strings.Join(cpus, " "); got != wantCPUs {
			t.Errorf("%s: CPU items %q, want %q", target, got, wantCPUs)
		}
	}
}
