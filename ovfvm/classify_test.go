package ovfvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/disktest"
)

// Classify's own tests: what the artifact's files are taken for. What the
// probe reads from each format is package disk's table test.

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeRaw(t *testing.T, path string, size int64) string {
	t.Helper()
	writeFile(t, path, []byte("raw data, no header"))
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
	return path
}

// The crafted images come from disktest, which lays them out as the
// format documents define them.
type qcow2Opts = disktest.QCOW2

var descriptorText = disktest.Descriptor

func writeQCOW2(t *testing.T, path string, o qcow2Opts) string {
	t.Helper()
	return writeFile(t, path, o.Bytes())
}

// writeSparse writes a KDMV header; desc, when set, is embedded at sector 1.
func writeSparse(t *testing.T, path string, capacitySectors uint64, desc string) string {
	t.Helper()
	return writeFile(t, path, disktest.SparseVMDK(capacitySectors, desc))
}

func paths(ds []disk.Info) []string {
	var out []string
	for _, d := range ds {
		out = append(out, filepath.Base(d.Path))
	}
	return out
}

func ignored(in *Input) map[string]string {
	m := map[string]string{}
	for _, f := range in.Ignored {
		m[filepath.Base(f.Path)] = f.Reason
	}
	return m
}

// Packer's qemu builder: extension-less qcow2 images named vm_name,
// vm_name-1, ... and the EFI variable store.
func TestClassifyQemuOutput(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for _, n := range []string{"packer-web-10", "packer-web-2", "packer-web", "packer-web-1"} {
		files = append(files, writeQCOW2(t, filepath.Join(dir, n), qcow2Opts{Size: 8 << 30}))
	}
	files = append(files, writeFile(t, filepath.Join(dir, "efivars.fd"), make([]byte, 131072)))
	in, err := Classify(files)
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != KindDisks || strings.Join(paths(in.Disks), " ") != "packer-web packer-web-1 packer-web-2 packer-web-10" {
		t.Fatalf("kind %v disks %v; want the four qcow2 images in natural order", in.Kind, paths(in.Disks))
	}
	for _, d := range in.Disks {
		if d.Format != disk.FormatQCOW2 || d.Subformat != "v3" || d.Capacity != 8<<30 || d.Backing != "" {
			t.Errorf("%s: %+v", d.Path, d)
		}
	}
	if r := ignored(in)["efivars.fd"]; r != "UEFI variable store" {
		t.Errorf("efivars.fd ignored as %q", r)
	}
}

func TestClassifyRawAndDottedNames(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		writeRaw(t, filepath.Join(dir, "ubuntu-22.04"), 1<<20),
		writeRaw(t, filepath.Join(dir, "data.img"), 2<<20),
		writeFile(t, filepath.Join(dir, "README"), []byte("not a disk")),
		writeFile(t, filepath.Join(dir, "build.log"), []byte("log")),
		writeFile(t, filepath.Join(dir, "SHA256SUMS.sha256"), []byte("x")),
	}
	in, err := Classify(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(paths(in.Disks), " "); got != "data.img ubuntu-22.04" {
		t.Errorf("disks %s", got)
	}
	for _, d := range in.Disks {
		if d.Format != disk.FormatRaw {
			t.Errorf("%s: format %s", d.Path, d.Format)
		}
	}
	ig := ignored(in)
	if ig["README"] == "" || ig["build.log"] != "log" || ig["SHA256SUMS.sha256"] != "checksum" {
		t.Errorf("ignored %v", ig)
	}
}

// vmware-iso: a .vmx attaching a split sparse VMDK (descriptor and
// extents) and a monolithic sparse one, beside nvram, logs and an
// unattached VMDK.
func TestClassifyVMwareISOOutput(t *testing.T) {
	dir := t.TempDir()
	vmx := "displayName = \"web\"\nguestOS = \"ubuntu-64\"\nscsi0.present = \"TRUE\"\nscsi0.virtualDev = \"lsilogic\"\n" +
		"scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"disk.vmdk\"\nscsi0:1.present = \"TRUE\"\nscsi0:1.fileName = \"disk-1.vmdk\"\n" +
		"ide1:0.present = \"TRUE\"\nide1:0.deviceType = \"cdrom-image\"\nide1:0.fileName = \"/iso/x.iso\"\n"
	files := []string{
		writeFile(t, filepath.Join(dir, "web.vmx"), []byte(vmx)),
		writeFile(t, filepath.Join(dir, "disk.vmdk"), []byte(descriptorText("twoGbMaxExtentSparse", "ffffffff",
			`RW 4192256 SPARSE "disk-s001.vmdk"`, `RW 2048 SPARSE "disk-s002.vmdk"`))),
		writeSparse(t, filepath.Join(dir, "disk-s001.vmdk"), 4192256, ""),
		writeSparse(t, filepath.Join(dir, "disk-s002.vmdk"), 2048, ""),
		writeSparse(t, filepath.Join(dir, "disk-1.vmdk"), 2097152, descriptorText("monolithicSparse", "ffffffff", `RW 2097152 SPARSE "disk-1.vmdk"`)),
		writeSparse(t, filepath.Join(dir, "stale.vmdk"), 2048, descriptorText("monolithicSparse", "ffffffff", `RW 2048 SPARSE "stale.vmdk"`)),
		writeFile(t, filepath.Join(dir, "web.nvram"), []byte("nvram")),
		writeFile(t, filepath.Join(dir, "vmware.log"), []byte("log")),
		writeFile(t, filepath.Join(dir, "web.vmsd"), nil),
	}
	in, err := Classify(files)
	if err != nil {
		t.Fatal(err)
	}
	if in.Kind != KindVMX || in.VMX == nil {
		t.Fatalf("kind %v", in.Kind)
	}
	if got := strings.Join(paths(in.Disks), " "); got != "disk.vmdk disk-1.vmdk" {
		t.Fatalf("disks %s; want the .vmx's order", got)
	}
	d0, d1 := in.Disks[0], in.Disks[1]
	if d0.Format != disk.FormatVMDK || d0.Subformat != "twoGbMaxExtentSparse" || d0.Capacity != (4192256+2048)*512 || len(d0.Extents) != 2 {
		t.Errorf("split disk %+v", d0)
	}
	if d1.Subformat != "monolithicSparse" || d1.Capacity != 2097152*512 || d1.StreamOptimized() {
		t.Errorf("sparse disk %+v", d1)
	}
	ig := ignored(in)
	if ig["stale.vmdk"] != "not attached by web.vmx" || ig["web.nvram"] == "" || ig["vmware.log"] != "log" {
		t.Errorf("ignored %v", ig)
	}
	if _, listed := ig["disk-s001.vmdk"]; listed {
		t.Error("an extent of an attached disk is listed as ignored")
	}
}

func TestClassifyOVFWins(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		writeFile(t, filepath.Join(dir, "vm.ovf"), []byte("<Envelope/>")),
		writeSparse(t, filepath.Join(dir, "vm-disk-0.vmdk"), 2048, descriptorText("streamOptimized", "ffffffff", `RW 2048 SPARSE "vm-disk-0.vmdk"`)),
		writeFile(t, filepath.Join(dir, "vm.vmx"), []byte("x = \"1\"\n")),
		writeFile(t, filepath.Join(dir, "old.vdi"), []byte("vdi")),
	}
	in, err := Classify(files)
	if err != nil || in.Kind != KindOVF || len(in.OVFs) != 1 || len(in.Disks) != 0 {
		t.Fatalf("Classify = %+v, %v; want the OVF and nothing to generate", in, err)
	}
}

// An OVA without an .ovf is re-packed as it is: it wins over disks and a
// .vmx beside it, and loses to an .ovf.
func TestClassifyOVA(t *testing.T) {
	dir := t.TempDir()
	ova := writeFile(t, filepath.Join(dir, "vm.ova"), []byte("tar"))
	vmx := writeFile(t, filepath.Join(dir, "vm.vmx"), []byte("x = \"1\"\n"))
	in, err := Classify([]string{vmx, ova})
	if err != nil || in.Kind != KindOVA || len(in.OVAs) != 1 || in.OVAs[0] != ova || in.Kind.String() != "OVA" {
		t.Fatalf("Classify = %+v, %v; want the OVA", in, err)
	}
	in, err = Classify([]string{ova, writeFile(t, filepath.Join(dir, "vm.ovf"), []byte("<Envelope/>"))})
	if err != nil || in.Kind != KindOVF {
		t.Fatalf("Classify with an .ovf too = %+v, %v; want the OVF", in, err)
	}
}

func TestClassifyErrors(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	raw := writeRaw(t, p("ok.raw"), 4096)
	cases := []struct {
		files []string
		want  string
	}{
		{[]string{writeFile(t, p("notes.txt"), []byte("x"))}, "no .ovf, no .vmx and no disk image"},
		{nil, "its files are: (none)"},
		{[]string{p("missing.raw")}, "artifact file " + p("missing.raw")},
		{[]string{writeFile(t, p("a.vmx"), nil), writeFile(t, p("b.vmx"), nil)}, "2 .vmx files"},
		{[]string{raw, writeFile(t, p("vm.vdi"), []byte("vdi"))}, "3 bytes is not a raw disk image"},
		{[]string{writeRaw(t, p("odd.img"), 1000)}, "not a raw disk image"},
		{[]string{writeFile(t, p("empty.raw"), nil)}, "0 bytes is not a raw disk image"},
		{[]string{writeQCOW2(t, p("enc.qcow2"), qcow2Opts{Size: 1 << 20, Crypt: 1})}, "encrypted qcow2"},
		{[]string{writeQCOW2(t, p("bad.qcow2"), qcow2Opts{Size: 1 << 20, Incompat: 2})}, "marked corrupt"},
		{[]string{writeQCOW2(t, p("v4.qcow2"), qcow2Opts{Size: 1 << 20, Version: 4})}, "malformed qcow2 at byte offset 4: version 4"},
		{[]string{writeQCOW2(t, p("short.qcow2"), qcow2Opts{Size: 1 << 20, Truncated: true})}, "qcow2 header is truncated"},
		{[]string{writeQCOW2(t, p("zero.qcow2"), qcow2Opts{Size: 0})}, "not a usable disk size"},
		{[]string{writeFile(t, p("old.vmdk"), append([]byte("COWD"), make([]byte, 508)...))}, "COWD"},
		{[]string{writeSparse(t, p("orphan-s001.vmdk"), 2048, "")}, "one extent of a split VMDK"},
		{[]string{writeFile(t, p("split.vmdk"), []byte(descriptorText("twoGbMaxExtentSparse", "ffffffff", `RW 2048 SPARSE "gone-s001.vmdk"`)))}, "gone-s001.vmdk, which is missing"},
		{[]string{writeFile(t, p("noext.vmdk"), []byte(descriptorText("monolithicFlat", "ffffffff")))}, "names no extents"},
		{[]string{writeFile(t, p("evil.vmdk"), []byte(descriptorText("monolithicFlat", "ffffffff", `RW 2048 FLAT "../../etc/x" 0`)))}, "not a plain file name"},
		{[]string{writeFile(t, p("nodisk.vmx"), []byte("ide1:0.fileName = \"x.iso\"\n"))}, "attaches no hard disk"},
		{[]string{writeFile(t, p("lost.vmx"), []byte("scsi0:0.fileName = \"lost.vmdk\"\n")), raw}, "attaches lost.vmdk as scsi0:0, which is not among the artifact's files"},
		{[]string{writeFile(t, p("broken.vmx"), []byte("this is not vmx\n"))}, "broken.vmx: line 1"},
	}
	for _, c := range cases {
		_, err := Classify(c.files)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v; want %q", paths(toDisks(c.files)), err, c.want)
		}
	}
}

func toDisks(files []string) []disk.Info {
	var d []disk.Info
	for _, f := range files {
		d = append(d, disk.Info{Path: f})
	}
	return d
}

func TestNaturalOrder(t *testing.T) {
	in := []string{"d/disk-10.qcow2", "d/disk.qcow2", "d/disk-2.qcow2", "d/disk-1.qcow2", "d/disk-01.raw"}
	want := "disk.qcow2 disk-1.qcow2 disk-01.raw disk-2.qcow2 disk-10.qcow2"
	ds := toDisks(in)
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if diskNameLess(ds[j].Path, ds[i].Path) {
				ds[i], ds[j] = ds[j], ds[i]
			}
		}
	}
	if got := strings.Join(paths(ds), " "); got != want {
		t.Errorf("order %s; want %s", got, want)
	}
}
