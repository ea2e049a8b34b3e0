package vmdk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleRaw is a 20 MiB + 1000 bytes disk: text, random data across a grain
// boundary, a zero-filled stretch and a last partial sector.
func sampleRaw(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "sample.raw")
	sparseFile(t, p, 20*mib+1000, map[int64][]byte{
		0:              textBytes(20, int(300*kib)),
		GrainSize - 77: randomBytes(21, int(GrainSize)),
		5 * mib:        make([]byte, mib), // written zeros
		20*mib + 10:    randomBytes(22, 990),
	})
	return p
}

// openAndCheck opens path with OpenDisk, checks it reads as raw, then
// converts it and checks the result too.
func openAndCheck(t *testing.T, path, raw string, want Format, wantCreate string) *Disk {
	t.Helper()
	d, err := OpenDisk(context.Background(), path, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if d.Format != want || d.CreateType != wantCreate {
		t.Fatalf("format %q createType %q, want %q %q", d.Format, d.CreateType, want, wantCreate)
	}
	sameDisk(t, d.ReaderAt, d.Size, raw)
	out := filepath.Join(t.TempDir(), "out.vmdk")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	st, err := d.WriteStreamOptimized(context.Background(), f, fixedIDs)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(raw)
	checkOurVMDK(t, raw, out, fi.Size(), st)
	return d
}

func TestOpenDiskFormats(t *testing.T) {
	qemu := qemuImg(t)
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	conv := func(name string, args ...string) string {
		p := filepath.Join(dir, name)
		run(t, qemu, append(append([]string{"convert", "-f", "raw"}, args...), raw, p)...)
		return p
	}
	t.Run("raw", func(t *testing.T) { openAndCheck(t, raw, raw, FormatRaw, "") })
	t.Run("qcow2-v3", func(t *testing.T) {
		d := openAndCheck(t, conv("v3.qcow2", "-O", "qcow2"), raw, FormatQCOW2, "")
		if d.ViaQemuImg {
			t.Fatal("plain qcow2 went through qemu-img")
		}
	})
	t.Run("qcow2-v2", func(t *testing.T) {
		openAndCheck(t, conv("v2.qcow2", "-O", "qcow2", "-o", "compat=0.10"), raw, FormatQCOW2, "")
	})
	t.Run("qcow2-compressed", func(t *testing.T) { openAndCheck(t, conv("c.qcow2", "-O", "qcow2", "-c"), raw, FormatQCOW2, "") })
	t.Run("qcow2-small-clusters", func(t *testing.T) {
		openAndCheck(t, conv("s.qcow2", "-O", "qcow2", "-o", "cluster_size=4096"), raw, FormatQCOW2, "")
	})
	t.Run("qcow2-big-clusters-compressed", func(t *testing.T) {
		openAndCheck(t, conv("b.qcow2", "-O", "qcow2", "-c", "-o", "cluster_size=2M"), raw, FormatQCOW2, "")
	})
	t.Run("vmdk-monolithicSparse", func(t *testing.T) {
		openAndCheck(t, conv("ms.vmdk", "-O", "vmdk"), raw, FormatVMDK, "monolithicSparse")
	})
	t.Run("vmdk-twoGbMaxExtentSparse", func(t *testing.T) {
		openAndCheck(t, conv("ts.vmdk", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse"), raw, FormatVMDK, "twoGbMaxExtentSparse")
	})
	t.Run("vmdk-monolithicFlat", func(t *testing.T) {
		openAndCheck(t, conv("mf.vmdk", "-O", "vmdk", "-o", "subformat=monolithicFlat"), raw, FormatVMDK, "monolithicFlat")
	})
	t.Run("vmdk-twoGbMaxExtentFlat", func(t *testing.T) {
		openAndCheck(t, conv("tf.vmdk", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentFlat"), raw, FormatVMDK, "twoGbMaxExtentFlat")
	})
	t.Run("vmdk-streamOptimized-qemu-is-reencoded", func(t *testing.T) {
		d := openAndCheck(t, conv("qs.vmdk", "-O", "vmdk", "-o", "subformat=streamOptimized"), raw, FormatVMDK, "streamOptimized")
		if d.VMwareStream || !strings.Contains(d.LayoutProblem, "flags") {
			t.Fatalf("qemu-img's stream: VMwareStream %v, problem %q", d.VMwareStream, d.LayoutProblem)
		}
	})
	t.Run("vhd-via-qemu-img", func(t *testing.T) {
		p := conv("d.vhd", "-O", "vpc", "-o", "force_size=on")
		d := openAndCheck(t, p, raw, FormatVHD, "")
		if !d.ViaQemuImg || d.RawCopy == "" {
			t.Fatalf("VHD not read through qemu-img: %+v", d)
		}
		d.Close()
		if _, err := os.Stat(d.RawCopy); !os.IsNotExist(err) {
			t.Fatalf("Close left the raw copy %s (%v)", d.RawCopy, err)
		}
		if _, err := OpenDisk(context.Background(), p, OpenOptions{QemuImg: "-"}); err == nil || !strings.Contains(err.Error(), "only qemu-img reads") {
			t.Fatalf("VHD without the fallback: %v", err)
		}
	})
}

// TestOpenDiskPassesVMwareStreamThrough: our own output is shipped as is.
func TestOpenDiskPassesVMwareStreamThrough(t *testing.T) {
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	src := filepath.Join(dir, "ours.vmdk")
	st0 := writeVMDK(t, raw, src, fixedIDs)
	d, err := OpenDisk(context.Background(), src, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if !d.VMwareStream || d.CreateType != "streamOptimized" || d.LayoutProblem != "" {
		t.Fatalf("our stream: VMwareStream %v (%s)", d.VMwareStream, d.LayoutProblem)
	}
	var out bytes.Buffer
	st, err := d.WriteStreamOptimized(context.Background(), &out, Options{CID: 1}) // options are ignored
	if err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(src)
	if !bytes.Equal(out.Bytes(), orig) {
		t.Fatal("a VMware-layout stream was not copied byte for byte")
	}
	if st != st0 {
		t.Fatalf("pass-through stats %+v, writer's %+v", st, st0)
	}
}

// TestQcow2ZeroClusters: qcow2 v3 zero-flagged clusters over data read as
// zeros (qemu-io write -z).
func TestQcow2ZeroClusters(t *testing.T) {
	qemu := qemuImg(t)
	qio := program(t, "qemu-io")
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	q := filepath.Join(dir, "z.qcow2")
	run(t, qemu, "convert", "-f", "raw", "-O", "qcow2", raw, q)
	run(t, qio, "-f", "qcow2", "-c", "write -z 0 128k", q)
	f, _ := os.OpenFile(raw, os.O_RDWR, 0)
	f.WriteAt(make([]byte, 128*kib), 0)
	f.Close()
	openAndCheck(t, q, raw, FormatQCOW2, "")
}

// TestQcow2BackingFileViaQemuImg: the native reader refuses a backing
// chain; qemu-img flattens it.
func TestQcow2BackingFileViaQemuImg(t *testing.T) {
	qemu := qemuImg(t)
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	base := filepath.Join(dir, "base.qcow2")
	run(t, qemu, "convert", "-f", "raw", "-O", "qcow2", raw, base)
	top := filepath.Join(dir, "top.qcow2")
	run(t, qemu, "create", "-f", "qcow2", "-b", base, "-F", "qcow2", top)
	_, err := OpenDisk(context.Background(), top, OpenOptions{QemuImg: "-"})
	if err == nil || !strings.Contains(err.Error(), "backing file") {
		t.Fatalf("native reader on a backing chain: %v", err)
	}
	d := openAndCheck(t, top, raw, FormatQCOW2, "")
	if !d.ViaQemuImg {
		t.Fatal("backing chain not read through qemu-img")
	}
}

func TestOpenDiskRefusesSplitExtentAlone(t *testing.T) {
	qemu := qemuImg(t)
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", raw, filepath.Join(dir, "s.vmdk"))
	_, err := OpenDisk(context.Background(), filepath.Join(dir, "s-s001.vmdk"), OpenOptions{QemuImg: "-"})
	if err == nil || !strings.Contains(err.Error(), "one extent of a split VMDK") {
		t.Fatalf("opening one extent: %v", err)
	}
}

func TestDescriptorRefusesEscapingExtent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.vmdk")
	os.WriteFile(p, []byte("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"../etc/passwd\" 0\n"), 0o644)
	_, err := OpenDisk(context.Background(), p, OpenOptions{QemuImg: "-"})
	if err == nil || !strings.Contains(err.Error(), "relative to the descriptor") {
		t.Fatalf("escaping extent: %v", err)
	}
}

// TestDescriptorFlatAndZeroExtents: a hand-written descriptor laying a flat
// extent (at an offset in its file), a ZERO extent and another flat extent
// end to end reads as their concatenation.
func TestDescriptorFlatAndZeroExtents(t *testing.T) {
	dir := t.TempDir()
	a := append(make([]byte, 1024), textBytes(70, 4096)...) // extent starts 2 sectors in
	b := randomBytes(71, 8192)
	os.WriteFile(filepath.Join(dir, "a-flat.vmdk"), a, 0o644)
	os.WriteFile(filepath.Join(dir, "b flat.vmdk"), b, 0o644)
	desc := "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\n\n" +
		"RW 8 FLAT \"a-flat.vmdk\" 2\nRW 16 ZERO\nRW 16 FLAT \"b flat.vmdk\" 0\n"
	p := filepath.Join(dir, "d.vmdk")
	os.WriteFile(p, []byte(desc), 0o644)
	d, err := OpenDisk(context.Background(), p, OpenOptions{QemuImg: "-"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	want := append(append(append([]byte(nil), a[1024:]...), make([]byte, 8192)...), b...)
	if d.Size != int64(len(want)) || d.CreateType != "monolithicFlat" {
		t.Fatalf("size %d createType %q", d.Size, d.CreateType)
	}
	got := make([]byte, len(want))
	if _, err := d.ReadAt(got, 0); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("extents read wrong (%v)", err)
	}
	var out bytes.Buffer
	if _, err := d.WriteStreamOptimized(context.Background(), &out, fixedIDs); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, len(want))
	if _, err := mustOpen(t, out.Bytes()).ReadAt(back, 0); err != nil || !bytes.Equal(back, want) {
		t.Fatalf("converted disk reads wrong (%v)", err)
	}
	// A flat extent shorter than the descriptor says is refused.
	os.WriteFile(p, []byte(strings.Replace(desc, "RW 16 FLAT", "RW 17 FLAT", 1)), 0o644)
	if _, err := OpenDisk(context.Background(), p, OpenOptions{QemuImg: "-"}); err == nil || !strings.Contains(err.Error(), "needs 8704 bytes") {
		t.Fatalf("short flat extent: %v", err)
	}
}
