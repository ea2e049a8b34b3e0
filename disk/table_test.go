package disk

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/disktest"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// sampleCase is one row of the table Probe and Open must agree on: a file
// built in Go (unit) or by qemu-img (real program), what Probe says of it
// and what Open reads.
type sampleCase struct {
	name string
	// build writes the sample into dir and returns its path; qemu is
	// qemu-img's path ("" for the Go-built rows).
	build      func(t *testing.T, dir, raw, qemu string) string
	qemu       bool   // built by qemu-img
	format     Format // what both say
	subformat  string // Probe's Subformat
	createType string // Open's CreateType
	// data is what the disk reads as: the sample (nil: zeros of sampleSize).
	zeros bool
}

func goRows() []sampleCase {
	data := sampleData()
	return []sampleCase{
		{name: "raw", format: FormatRaw, build: func(t *testing.T, dir, _, _ string) string {
			return writeFile(t, filepath.Join(dir, "disk.img"), data)
		}},
		{name: "qcow2", format: FormatQCOW2, subformat: "v3", zeros: true, build: func(t *testing.T, dir, _, _ string) string {
			return writeFile(t, filepath.Join(dir, "disk"), disktest.QCOW2{Size: sampleSize}.Bytes())
		}},
		{name: "vmdk-streamOptimized", format: FormatVMDK, subformat: "streamOptimized", createType: "streamOptimized", build: func(t *testing.T, dir, raw, _ string) string {
			return writeStream(t, raw, filepath.Join(dir, "so.vmdk"))
		}},
		{name: "vmdk-flat-descriptor", format: FormatVMDK, subformat: "monolithicFlat", createType: "monolithicFlat", build: func(t *testing.T, dir, _, _ string) string {
			writeFile(t, filepath.Join(dir, "d-flat.vmdk"), data)
			return writeFile(t, filepath.Join(dir, "d.vmdk"), []byte(disktest.Descriptor("monolithicFlat", "ffffffff", `RW 8192 FLAT "d-flat.vmdk" 0`)))
		}},
		{name: "vhd-fixed", format: FormatVHD, build: func(t *testing.T, dir, _, _ string) string {
			return writeFile(t, filepath.Join(dir, "disk.vhd"), disktest.FixedVHD(sampleSize))
		}},
		// Without an extension the footer alone says VHD: not a raw disk
		// 512 bytes larger than it is.
		{name: "vhd-fixed-no-extension", format: FormatVHD, build: func(t *testing.T, dir, _, _ string) string {
			return writeFile(t, filepath.Join(dir, "disk"), disktest.FixedVHD(sampleSize))
		}},
		{name: "vhd-dynamic", format: FormatVHD, build: func(t *testing.T, dir, _, _ string) string {
			return writeFile(t, filepath.Join(dir, "disk.vhd"), disktest.DynamicVHD(sampleSize))
		}},
		{name: "vhdx", format: FormatVHDX, build: func(t *testing.T, dir, _, _ string) string {
			return writeFile(t, filepath.Join(dir, "disk.vhdx"), disktest.VHDX(sampleSize))
		}},
		{name: "vdi", format: FormatVDI, build: func(t *testing.T, dir, _, _ string) string {
			return writeFile(t, filepath.Join(dir, "disk.vdi"), disktest.VDI(sampleSize))
		}},
	}
}

// qemuRow converts the raw sample with qemu-img into name.
func qemuRow(name, file string, format Format, subformat, createType string, args ...string) sampleCase {
	return sampleCase{name: name, qemu: true, format: format, subformat: subformat, createType: createType,
		build: func(t *testing.T, dir, raw, qemu string) string {
			p := filepath.Join(dir, file)
			qemuImg(t, qemu, append(append([]string{"convert", "-f", "raw"}, args...), raw, p)...)
			return p
		}}
}

func qemuRows() []sampleCase {
	return []sampleCase{
		qemuRow("qemu-raw", "disk.raw", FormatRaw, "", "", "-O", "raw"),
		qemuRow("qemu-qcow2", "disk.qcow2", FormatQCOW2, "v3", "", "-O", "qcow2"),
		qemuRow("qemu-qcow2-v2-compressed", "disk", FormatQCOW2, "v2", "", "-O", "qcow2", "-c", "-o", "compat=0.10"),
		qemuRow("qemu-qcow2-small-clusters", "s.qcow2", FormatQCOW2, "v3", "", "-O", "qcow2", "-o", "cluster_size=4096"),
		qemuRow("qemu-qcow2-big-clusters-compressed", "b.qcow2", FormatQCOW2, "v3", "", "-O", "qcow2", "-c", "-o", "cluster_size=2M"),
		qemuRow("qemu-vmdk-monolithicSparse", "ms.vmdk", FormatVMDK, "monolithicSparse", "monolithicSparse", "-O", "vmdk"),
		qemuRow("qemu-vmdk-streamOptimized", "so.vmdk", FormatVMDK, "streamOptimized", "streamOptimized", "-O", "vmdk", "-o", "subformat=streamOptimized"),
		qemuRow("qemu-vmdk-monolithicFlat", "mf.vmdk", FormatVMDK, "monolithicFlat", "monolithicFlat", "-O", "vmdk", "-o", "subformat=monolithicFlat"),
		qemuRow("qemu-vmdk-twoGbMaxExtentSparse", "ts.vmdk", FormatVMDK, "twoGbMaxExtentSparse", "twoGbMaxExtentSparse", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentSparse"),
		qemuRow("qemu-vmdk-twoGbMaxExtentFlat", "tf.vmdk", FormatVMDK, "twoGbMaxExtentFlat", "twoGbMaxExtentFlat", "-O", "vmdk", "-o", "subformat=twoGbMaxExtentFlat"),
		qemuRow("qemu-vhd-fixed", "fixed.vhd", FormatVHD, "", "", "-O", "vpc", "-o", "subformat=fixed,force_size=on"),
		qemuRow("qemu-vhd-fixed-no-extension", "fixed", FormatVHD, "", "", "-O", "vpc", "-o", "subformat=fixed,force_size=on"),
		qemuRow("qemu-vhd-dynamic", "dynamic.vhd", FormatVHD, "", "", "-O", "vpc", "-o", "force_size=on"),
		qemuRow("qemu-vhdx", "disk.vhdx", FormatVHDX, "", "", "-O", "vhdx"),
		qemuRow("qemu-vdi", "disk.vdi", FormatVDI, "", "", "-O", "vdi"),
		qemuRow("qemu-qed", "disk.qed", FormatQED, "", "", "-O", "qed"),
		qemuRow("qemu-parallels", "disk.hds", FormatParallels, "", "", "-O", "parallels"),
	}
}

// TestProbeAndOpenAgree is the one table of disk formats: for every sample
// Probe and Open name the same format, Probe's capacity is the size Open
// reads, the bytes are the disk's, and only the formats the native readers
// do not take go through qemu-img. Go-built rows run under -short (their
// qemu-img-only headers are checked with the fallback off); qemu-img's
// rows need the real program.
func TestProbeAndOpenAgree(t *testing.T) {
	data := sampleData()
	for _, c := range append(goRows(), qemuRows()...) {
		t.Run(c.name, func(t *testing.T) {
			qemu := ""
			if c.qemu {
				qemu = requireQemuImg(t)
			}
			dir := t.TempDir()
			raw := writeFile(t, filepath.Join(t.TempDir(), "sample.raw"), data)
			p := c.build(t, dir, raw, qemu)
			want := data
			if c.zeros {
				want = make([]byte, sampleSize)
			}
			info, err := Probe(p)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if info.Format != c.format || info.Subformat != c.subformat || info.Capacity != int64(len(want)) {
				t.Fatalf("Probe = %s/%q, capacity %d; want %s/%q, %d", info.Format, info.Subformat, info.Capacity, c.format, c.subformat, len(want))
			}
			opts := OpenOptions{QemuImg: qemu}
			if qemu == "" {
				opts.QemuImg = "-"
			}
			d, err := Open(context.Background(), p, opts)
			if !c.format.Native() && !c.qemu {
				// The fallback is off: Open must name the same format.
				if err == nil || !strings.Contains(err.Error(), "is a "+string(c.format)+" image, which only qemu-img reads") {
					t.Fatalf("Open without qemu-img: %v; want it to name %s", err, c.format)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer d.Close()
			if d.Format != info.Format || d.CreateType != c.createType || d.ViaQemuImg == c.format.Native() {
				t.Fatalf("Open = %s/%q (via qemu-img %v); Probe said %s, want createType %q", d.Format, d.CreateType, d.ViaQemuImg, info.Format, c.createType)
			}
			readsAs(t, d, d.Size, want)
		})
	}
}

// writeStream writes the file raw as a streamOptimized VMDK with the
// native writer (VMware's layout).
func writeStream(t testing.TB, raw, dst string) string {
	t.Helper()
	in, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	fi, _ := in.Stat()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := vmdk.Write(context.Background(), out, in, fi.Size(), vmdk.Options{CID: 1}); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestProbeRefuses: what Probe refuses, and why, on Go-built headers.
func TestProbeRefuses(t *testing.T) {
	dir := t.TempDir()
	p := func(n string, b []byte) string { return writeFile(t, filepath.Join(dir, n), b) }
	for _, c := range []struct {
		path, want string
	}{
		{p("empty", nil), "0 bytes is not a raw disk image"},
		{p("enc.qcow2", disktest.QCOW2{Size: 1 << 20, Crypt: 1}.Bytes()), "encrypted qcow2"},
		{p("bad.qcow2", disktest.QCOW2{Size: 1 << 20, Incompat: 2}.Bytes()), "marked corrupt"},
		{p("v4.qcow2", disktest.QCOW2{Size: 1 << 20, Version: 4}.Bytes()), "version 4"},
		{p("short.qcow2", disktest.QCOW2{Size: 1 << 20, Truncated: true}.Bytes()), "header is truncated (40 bytes)"},
		{p("zero.qcow2", disktest.QCOW2{}.Bytes()), "not a usable disk size"},
		{p("old.vmdk", append([]byte("COWD"), make([]byte, 508)...)), "COWD"},
		{p("noext.vmdk", []byte(disktest.Descriptor("monolithicFlat", "ffffffff"))), "names no extents"},
		{p("evil.vmdk", []byte(disktest.Descriptor("monolithicFlat", "ffffffff", `RW 2048 FLAT "../../etc/x" 0`))), "not a plain file name"},
	} {
		if _, err := Probe(c.path); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", filepath.Base(c.path), err, c.want)
		}
	}
	if _, err := Probe(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestProbeDifferencingDisks: a qcow2 overlay and a VMDK delta name their
// parents; a streamOptimized VMDK can go into an OVA as it is.
func TestProbeDifferencingDisks(t *testing.T) {
	dir := t.TempDir()
	q, err := Probe(writeFile(t, filepath.Join(dir, "overlay.qcow2"), disktest.QCOW2{Size: 1 << 30, Backing: "/images/base.qcow2"}.Bytes()))
	if err != nil || q.Backing != "/images/base.qcow2" {
		t.Errorf("qcow2 overlay: %+v %v", q, err)
	}
	v, err := Probe(writeFile(t, filepath.Join(dir, "delta.vmdk"), disktest.SparseVMDK(2048,
		disktest.Descriptor("monolithicSparse", "1234abcd", `RW 2048 SPARSE "delta.vmdk"`)+"parentFileNameHint=\"base.vmdk\"\n")))
	if err != nil || v.Backing != "base.vmdk" || v.StreamOptimized() {
		t.Errorf("VMDK delta: %+v %v", v, err)
	}
	s, err := Probe(writeFile(t, filepath.Join(dir, "so.vmdk"), disktest.SparseVMDK(4096, disktest.Descriptor("streamOptimized", "ffffffff", `RW 4096 SPARSE "so.vmdk"`))))
	if err != nil || !s.StreamOptimized() || s.Capacity != 4096*512 {
		t.Errorf("streamOptimized: %+v %v", s, err)
	}
	e, err := Probe(writeFile(t, filepath.Join(dir, "s-s001.vmdk"), disktest.SparseVMDK(2048, "")))
	if err != nil || e.Subformat != SparseExtent {
		t.Errorf("split extent: %+v %v", e, err)
	}
}
