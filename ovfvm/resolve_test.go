package ovfvm

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func TestResolveDisksOrderAndName(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		writeQCOW2(t, filepath.Join(dir, "packer-web"), qcow2Opts{size: 1 << 30}),
		writeQCOW2(t, filepath.Join(dir, "packer-web-1"), qcow2Opts{size: 2 << 30}),
		writeQCOW2(t, filepath.Join(dir, "packer-web-2"), qcow2Opts{size: 3 << 30}),
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
// behind are recognized, with the virtual size qemu-img reports.
func TestProbeRealImages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs qemu-img; skipped with -short")
	}
	qemuImg := testenv.LookPath(t, "qemu-img")
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(qemuImg, args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
		}
	}
	cases := []struct {
		name, fmt, opts string
		format          Format
		subformat       string
		extents         int
	}{
		{"a.raw", "raw", "", FormatRaw, "", 0},
		{"a.qcow2", "qcow2", "", FormatQCOW2, "v3", 0},
		{"old.qcow2", "qcow2", "compat=0.10", FormatQCOW2, "v2", 0},
		{"sparse.vmdk", "vmdk", "subformat=monolithicSparse", FormatVMDK, "monolithicSparse", 0},
		{"flat.vmdk", "vmdk", "subformat=monolithicFlat", FormatVMDK, "monolithicFlat", 1},
		{"split.vmdk", "vmdk", "subformat=twoGbMaxExtentSparse", FormatVMDK, "twoGbMaxExtentSparse", 2},
		{"stream.vmdk", "vmdk", "subformat=streamOptimized", FormatVMDK, "streamOptimized", 0},
	}
	var files []string
	for _, c := range cases {
		args := []string{"create", "-q", "-f", c.fmt}
		if c.opts != "" {
			args = append(args, "-o", c.opts)
		}
		p := filepath.Join(dir, c.name)
		run(append(args, p, "3221226008")...) // beyond 2 GiB (to split) and not grain-aligned
		d, err := ProbeDisk(p)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		out, err := exec.Command(qemuImg, "info", "--output=json", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			VirtualSize int64 `json:"virtual-size"`
		}
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatal(err)
		}
		if d.Format != c.format || d.Subformat != c.subformat || d.Capacity != info.VirtualSize || len(d.Extents) != c.extents {
			t.Errorf("%s: probed %+v; want %s/%s, capacity %d (qemu-img), %d extents", c.name, d, c.format, c.subformat, info.VirtualSize, c.extents)
		}
		files = append(files, p)
		files = append(files, d.Extents...)
	}
	// A qcow2 overlay names its backing file.
	run("create", "-q", "-f", "qcow2", "-b", filepath.Join(dir, "a.qcow2"), "-F", "qcow2", filepath.Join(dir, "overlay.qcow2"))
	if d, err := ProbeDisk(filepath.Join(dir, "overlay.qcow2")); err != nil || d.Backing != filepath.Join(dir, "a.qcow2") {
		t.Errorf("overlay: %+v %v", d, err)
	}
	// The whole directory classifies: extents belong to their descriptors.
	in, err := Classify(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Disks) != len(cases) {
		t.Errorf("Classify found %v; want the %d images (extents grouped)", paths(in.Disks), len(cases))
	}
}
