package disk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// TestOpenReencodesQemuStream: qemu-img's streamOptimized layout is not
// VMware's, so it is re-encoded, and says why.
func TestOpenReencodesQemuStream(t *testing.T) {
	qemu := requireQemuImg(t)
	dir := t.TempDir()
	data := sampleData()
	raw := writeFile(t, filepath.Join(dir, "s.raw"), data)
	p := filepath.Join(dir, "qs.vmdk")
	qemuImg(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, p)
	d, err := Open(context.Background(), p, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.VMwareStream || !strings.Contains(d.LayoutProblem, "flags") {
		t.Fatalf("qemu-img's stream: VMwareStream %v, problem %q", d.VMwareStream, d.LayoutProblem)
	}
	convertsTo(t, d, data)
}

// TestOpenRemovesQemuImgCopy: the raw copy qemu-img makes goes with Close.
func TestOpenRemovesQemuImgCopy(t *testing.T) {
	qemu := requireQemuImg(t)
	dir := t.TempDir()
	data := sampleData()
	raw := writeFile(t, filepath.Join(dir, "s.raw"), data)
	p := filepath.Join(dir, "d.vhd")
	qemuImg(t, qemu, "convert", "-f", "raw", "-O", "vpc", "-o", "force_size=on", raw, p)
	work := t.TempDir()
	d, err := Open(context.Background(), p, OpenOptions{TempDir: work})
	if err != nil {
		t.Fatal(err)
	}
	if !d.ViaQemuImg || filepath.Dir(d.RawCopy) != work {
		t.Fatalf("VHD not read through qemu-img into %s: %+v", work, d)
	}
	convertsTo(t, d, data)
	d.Close()
	if _, err := os.Stat(d.RawCopy); !os.IsNotExist(err) {
		t.Fatalf("Close left the raw copy %s (%v)", d.RawCopy, err)
	}
}

// TestOpenPassesVMwareStreamThrough: our own output is shipped as is.
func TestOpenPassesVMwareStreamThrough(t *testing.T) {
	dir := t.TempDir()
	data := sampleData()
	src := writeStream(t, writeFile(t, filepath.Join(dir, "s.raw"), data), filepath.Join(dir, "ours.vmdk"))
	d, err := Open(context.Background(), src, OpenOptions{QemuImg: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.VMwareStream || d.CreateType != "streamOptimized" || d.LayoutProblem != "" {
		t.Fatalf("our stream: VMwareStream %v (%s)", d.VMwareStream, d.LayoutProblem)
	}
	var out bytes.Buffer
	st, err := d.WriteStreamOptimized(context.Background(), &out, vmdk.Options{CID: 7}) // options are ignored
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(src)
	if !bytes.Equal(out.Bytes(), orig) {
		t.Fatal("a VMware-layout stream was not copied byte for byte")
	}
	if st.Size != int64(len(orig)) || st.Capacity != sampleSize || st.PopulatedSize == 0 {
		t.Fatalf("pass-through stats %+v", st)
	}
}

// TestQcow2ZeroClusters: qcow2 v3 zero-flagged clusters over data read as
// zeros (qemu-io write -z).
func TestQcow2ZeroClusters(t *testing.T) {
	qemu := requireQemuImg(t)
	qio := testenv.LookPath(t, "qemu-io")
	dir := t.TempDir()
	data := sampleData()
	q := filepath.Join(dir, "z.qcow2")
	qemuImg(t, qemu, "convert", "-f", "raw", "-O", "qcow2", writeFile(t, filepath.Join(dir, "s.raw"), data), q)
	qemuImg(t, qio, "-f", "qcow2", "-c", "write -z 0 128k", q)
	clear(data[:128<<10])
	d, err := Open(context.Background(), q, OpenOptions{QemuImg: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	readsAs(t, d, d.Size, data)
}

// TestQcow2BackingFileViaQemuImg: the native reader refuses a backing
// chain; qemu-img flattens it.
func TestQcow2BackingFileViaQemuImg(t *testing.T) {
	qemu := requireQemuImg(t)
	dir := t.TempDir()
	data := sampleData()
	base := filepath.Join(dir, "base.qcow2")
	qemuImg(t, qemu, "convert", "-f", "raw", "-O", "qcow2", writeFile(t, filepath.Join(dir, "s.raw"), data), base)
	top := filepath.Join(dir, "top.qcow2")
	qemuImg(t, qemu, "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top)
	if info, err := Probe(top); err != nil || info.Backing != base {
		t.Fatalf("Probe of the overlay: %+v %v", info, err)
	}
	if _, err := Open(context.Background(), top, OpenOptions{QemuImg: "-"}); err == nil || !strings.Contains(err.Error(), "backing file") {
		t.Fatalf("native reader on a backing chain: %v", err)
	}
	d, err := Open(context.Background(), top, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.ViaQemuImg || d.Format != FormatQCOW2 {
		t.Fatalf("backing chain: via qemu-img %v, format %s", d.ViaQemuImg, d.Format)
	}
	readsAs(t, d, d.Size, data)
}

func TestOpenRefusesSplitExtentAlone(t *testing.T) {
	qemu := requireQemuImg(t)
	dir := t.TempDir()
	raw := writeFile(t, filepath.Join(dir, "s.raw"), sampleData())
	qemuImg(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", raw, filepath.Join(dir, "s.vmdk"))
	_, err := Open(context.Background(), filepath.Join(dir, "s-s001.vmdk"), OpenOptions{QemuImg: "-"})
	if err == nil || !strings.Contains(err.Error(), "one extent of a split VMDK") {
		t.Fatalf("opening one extent: %v", err)
	}
}

func TestDescriptorRefusesEscapingExtent(t *testing.T) {
	p := writeFile(t, filepath.Join(t.TempDir(), "d.vmdk"), []byte("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"../etc/passwd\" 0\n"))
	_, err := Open(context.Background(), p, OpenOptions{QemuImg: "-"})
	if err == nil || !strings.Contains(err.Error(), "relative to the descriptor") {
		t.Fatalf("escaping extent: %v", err)
	}
}

// TestDescriptorFlatAndZeroExtents: a hand-written descriptor laying a flat
// extent (at an offset in its file), a ZERO extent and another flat extent
// end to end reads as their concatenation.
func TestDescriptorFlatAndZeroExtents(t *testing.T) {
	dir := t.TempDir()
	data := sampleData()
	a := append(make([]byte, 1024), data[:4096]...) // extent starts 2 sectors in
	b := data[2<<20 : 2<<20+8192]
	writeFile(t, filepath.Join(dir, "a-flat.vmdk"), a)
	writeFile(t, filepath.Join(dir, "b flat.vmdk"), b)
	desc := "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n" +
		"RW 8 FLAT \"a-flat.vmdk\" 2\nRW 16 ZERO\nRW 16 FLAT \"b flat.vmdk\" 0\n"
	p := writeFile(t, filepath.Join(dir, "d.vmdk"), []byte(desc))
	d, err := Open(context.Background(), p, OpenOptions{QemuImg: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := append(append(append([]byte(nil), a[1024:]...), make([]byte, 8192)...), b...)
	if d.CreateType != "monolithicFlat" {
		t.Fatalf("createType %q", d.CreateType)
	}
	readsAs(t, d, d.Size, want)
	convertsTo(t, d, want)
	if info, err := Probe(p); err != nil || info.Capacity != d.Size || len(info.Extents) != 2 {
		t.Fatalf("Probe: %+v %v; Open reads %d bytes", info, err, d.Size)
	}
	// A flat extent shorter than the descriptor says is refused.
	writeFile(t, p, []byte(strings.Replace(desc, "RW 16 FLAT", "RW 17 FLAT", 1)))
	if _, err := Open(context.Background(), p, OpenOptions{QemuImg: "-"}); err == nil || !strings.Contains(err.Error(), "needs 8704 bytes") {
		t.Fatalf("short flat extent: %v", err)
	}
}
