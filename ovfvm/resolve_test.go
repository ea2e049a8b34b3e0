package ovfvm

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func TestResolveDisksOrderAndName(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		writeQCOW2(t, filepath.Join(dir, "packer-web"), qcow2Opts{Size: 1 << 30}),
		writeQCOW2(t, filepath.Join(dir, "packer-web-1"), qcow2Opts{Size: 2 << 30}),
		writeQCOW2(t, filepath.Join(dir, "packer-web-2"), qcow2Opts{Size: 3 << 30}),
	}
	in, err := Classify(files)
	if err != nil {
		t.Fatal(err)
	}
	var c Config
	p, err := c.Resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.VM.Name != "packer-web" || strings.Join(paths(p.Disks), " ") != "packer-web packer-web-1 packer-web-2" {
		t.Errorf("plan %q %v", p.VM.Name, paths(p.Disks))
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), `name = "packer-web" (from the first disk's file name`) {
		t.Errorf("notes %v", p.Notes)
	}

	c = Config{Name: "web", Disks: []string{"packer-web-2", files[0]}}
	if errs := c.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	p, err = c.Resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	if p.VM.Name != "web" || strings.Join(paths(p.Disks), " ") != "packer-web-2 packer-web" {
		t.Errorf("vm.disks order: %q %v", p.VM.Name, paths(p.Disks))
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "left out disk "+files[1]) {
		t.Errorf("notes %v; want the left-out disk named", p.Notes)
	}

	for _, bad := range []struct {
		disks []string
		want  string
	}{
		{[]string{"nope"}, `vm.disks[0]: "nope" is none of the artifact's disks`},
		{[]string{"packer-web", filepath.Join(dir, "packer-web")}, "same disk as an earlier entry"},
	} {
		c := Config{Disks: bad.disks}
		if _, err := c.Resolve(in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v; want %q", bad.disks, err, bad.want)
		}
	}
	if _, err := (&Config{}).Resolve(&Input{Kind: KindOVF}); err == nil {
		t.Error("Resolve accepted an OVF artifact")
	}
}

// A vmware-iso artifact: the .vmx's settings end up in the OVF.
func TestResolveVMXIntoOVF(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		writeFile(t, filepath.Join(dir, "web.vmx"), []byte(vmwareISOVMX)),
		writeSparse(t, filepath.Join(dir, "disk.vmdk"), 2097152, descriptorText("monolithicSparse", "ffffffff", `RW 2097152 SPARSE "disk.vmdk"`)),
		writeSparse(t, filepath.Join(dir, "disk-1.vmdk"), 2048, descriptorText("monolithicSparse", "ffffffff", `RW 2048 SPARSE "disk-1.vmdk"`)),
	}
	in, err := Classify(files)
	if err != nil {
		t.Fatal(err)
	}
	p, err := (&Config{Memory: 8192}).Resolve(in)
	if err != nil {
		t.Fatal(err)
	}
	var disks []Disk
	for i, d := range p.Disks {
		disks = append(disks, Disk{Href: DiskHref("web", i), Size: 4096, Capacity: d.Capacity})
	}
	out, err := Generate(&p.VM, disks)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		`<VirtualSystem ovf:id="web &quot;prod&quot; | 1">`,
		`<OperatingSystemSection ovf:id="96" ovf:version="12" vmw:osType="debian12_64Guest">`,
		"<vssd:VirtualSystemType>vmx-19</vssd:VirtualSystemType>",
		"<rasd:VirtualQuantity>4</rasd:VirtualQuantity>",
		"<rasd:VirtualQuantity>8192</rasd:VirtualQuantity>", // the user's memory wins over memsize
		`<vmw:CoresPerSocket ovf:required="false">2</vmw:CoresPerSocket>`,
		"<rasd:ResourceSubType>VirtualSCSI</rasd:ResourceSubType>",
		"<rasd:Connection>Storage</rasd:Connection>",
		"<rasd:ResourceSubType>E1000e</rasd:ResourceSubType>",
		`vmw:key="firmware" vmw:value="efi"`,
		`vmw:key="bootOptions.efiSecureBootEnabled" vmw:value="true"`,
		`ovf:capacity="1073741824"`,
	} {
		if !strings.Contains(string(out), w) {
			t.Errorf("generated OVF lacks %s", w)
		}
	}
	if s := p.VM.Summary(); !strings.Contains(s, "4 vCPUs (2 per socket), 8192 MiB, EFI with Secure Boot, debian12_64Guest (CIM OS 96), vmx-19, pvscsi") {
		t.Errorf("Summary: %s", s)
	}
}

// Images qemu-img writes in every format and subformat a builder leaves
// behind classify as one disk each, a split VMDK's extents grouped under
// its descriptor (package disk's table test checks what each probes as).
func TestClassifyRealImages(t *testing.T) {
	qemuImg := testenv.LookPath(t, "qemu-img")
	dir := t.TempDir()
	var files []string
	for _, c := range []struct{ name, fmt, opts string }{
		{"a.raw", "raw", ""}, {"a.qcow2", "qcow2", ""}, {"sparse.vmdk", "vmdk", "subformat=monolithicSparse"},
		{"flat.vmdk", "vmdk", "subformat=monolithicFlat"}, {"split.vmdk", "vmdk", "subformat=twoGbMaxExtentSparse"},
		{"stream.vmdk", "vmdk", "subformat=streamOptimized"}, {"a.vhd", "vpc", ""}, {"a.vdi", "vdi", ""}, {"a.vhdx", "vhdx", ""},
	} {
		p := filepath.Join(dir, c.name)
		args := []string{"create", "-q", "-f", c.fmt}
		if c.opts != "" {
			args = append(args, "-o", c.opts)
		}
		if out, err := exec.Command(qemuImg, append(args, p, "3221226008")...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
		}
		files = append(files, p)
	}
	extents, _ := filepath.Glob(filepath.Join(dir, "*-*.vmdk")) // flat-flat.vmdk, split-s001.vmdk, ...
	in, err := Classify(append(files, extents...))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Disks) != len(files) || len(extents) != 3 {
		t.Errorf("Classify found %v from %d extents; want the %d images (extents grouped)", paths(in.Disks), len(extents), len(files))
	}
}
