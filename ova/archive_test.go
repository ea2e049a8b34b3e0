package ova

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func TestArchiveRoundTrip(t *testing.T) {
	fx := newExport(t, diskSizes...)
	out := filepath.Join(t.TempDir(), "vm.ova")
	res := pack(t, Options{OVFPath: fx.ovf, Output: out})
	a, err := OpenArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.DescriptorName() != "vm.ovf" {
		t.Errorf("DescriptorName = %q", a.DescriptorName())
	}
	var names []string
	for _, m := range a.Members() {
		names = append(names, m.Name)
		if m.Offset%blockSize != 0 {
			t.Errorf("%s: data offset %d not block aligned", m.Name, m.Offset)
		}
	}
	if fmt.Sprint(names) != fmt.Sprint(res.Members) {
		t.Errorf("Members %q, want %q", names, res.Members)
	}
	if fmt.Sprint(a.Names()) != fmt.Sprint(res.Members) {
		t.Errorf("Names %q, want %q", a.Names(), res.Members)
	}
	d, err := a.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Bytes(), fx.data["vm.ovf"]) || len(d.Files()) != 2 {
		t.Error("descriptor differs from the source")
	}
	mf, err := a.Manifest()
	if err != nil || mf == nil || len(mf.Entries) != 3 {
		t.Fatalf("Manifest = %+v, %v", mf, err)
	}
	for _, href := range fx.disks {
		rc, size, err := a.Open(href)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", href, err)
		}
		if size != int64(len(fx.data[href])) || !bytes.Equal(got, fx.data[href]) {
			t.Errorf("%s: read %d bytes (size %d), differs from source", href, len(got), size)
		}
	}
	if _, _, err := a.Open("nope.vmdk"); err == nil || !strings.Contains(err.Error(), `"nope.vmdk"`) {
		t.Errorf("Open of a missing member: %v", err)
	}
}

// One byte changed in a disk (or in the descriptor) inside the OVA is
// reported when the member is read, naming it and both digests.
func TestArchiveTamperDetection(t *testing.T) {
	fx := newExport(t, diskSizes...)
	out := filepath.Join(t.TempDir(), "vm.ova")
	pack(t, Options{OVFPath: fx.ovf, Output: out})
	clean, err := OpenArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	members := clean.Members()
	clean.Close()
	raw, _ := os.ReadFile(out)

	for _, target := range []string{"vm-disk-0.vmdk", "vm-disk-1.vmdk", "vm.ovf"} {
		t.Run(target, func(t *testing.T) {
			b := bytes.Clone(raw)
			for _, m := range members {
				if m.Name == target {
					b[m.Offset+m.Size-1] ^= 0x20
				}
			}
			a, err := NewArchive(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			var rerr error
			if target == "vm.ovf" {
				_, rerr = a.Descriptor()
			} else {
				rc, _, err := a.Open(target)
				if err != nil {
					t.Fatal(err)
				}
				_, rerr = io.ReadAll(rc)
			}
			if rerr == nil || !strings.Contains(rerr.Error(), target) || !strings.Contains(rerr.Error(), "expected "+sha256hex(fx.data[target])) || !strings.Contains(rerr.Error(), "actual ") {
				t.Fatalf("reading tampered %s: %v", target, rerr)
			}
		})
	}
}

func TestArchiveErrors(t *testing.T) {
	// A tar with no .ovf: the error lists what it has.
	fx := newExport(t, 10)
	out := filepath.Join(t.TempDir(), "vm.ova")
	pack(t, Options{OVFPath: fx.ovf, Output: out, ChecksumAlgorithm: "none"})
	raw, _ := os.ReadFile(out)
	copy(raw[0:100], "vm.txt\x00\x00") // rename the .ovf member; fix the checksum
	h, _ := ustarHeader("vm.txt", int64(len(fx.data["vm.ovf"])), fixedTime().Unix())
	copy(raw[:blockSize], h[:])
	_, err := NewArchive(bytes.NewReader(raw), int64(len(raw)))
	if err == nil || !strings.Contains(err.Error(), "no .ovf") || !strings.Contains(err.Error(), "vm-disk-0.vmdk") {
		t.Errorf("OVA without .ovf: %v", err)
	}
	// Truncated archive.
	raw, _ = os.ReadFile(out)
	_, err = NewArchive(bytes.NewReader(raw[:3000]), 3000)
	if err == nil {
		t.Error("truncated OVA accepted")
	}
	if _, err := OpenArchive(filepath.Join(t.TempDir(), "none.ova")); err == nil {
		t.Error("OpenArchive of a missing file succeeded")
	}
}

// Benchmarks on generated data (64 MiB disk). Run with
// go test -run x -bench Pack -benchtime 3x ./ova/
func BenchmarkPackWithManifest(b *testing.B)    { benchPack(b, true) }
func BenchmarkPackWithoutManifest(b *testing.B) { benchPack(b, false) }

func benchPack(b *testing.B, withMF bool) {
	fx := newExport(b, 48<<20, 16<<20)
	if !withMF {
		os.Remove(fx.mf)
	}
	outDir := b.TempDir()
	b.SetBytes(64 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova"), Force: true})
		if err != nil {
			b.Fatal(err)
		}
		if res.ReusedManifest != withMF {
			b.Fatalf("ReusedManifest = %v", res.ReusedManifest)
		}
	}
}

// OVAs from other tools (here GNU tar in PAX format, as the common shell
// glue writes them) are indexed the same way; the builder reads those too.
func TestArchiveReadsGNUTarPAX(t *testing.T) {
	gnutar := testenv.LookPath(t, "tar")
	fx := newExport(t, diskSizes...)
	out := filepath.Join(t.TempDir(), "glue.ova")
	cmd := exec.Command(gnutar, "--format=pax", "-cf", out, "-C", fx.dir, "vm.ovf", "vm.mf", "vm-disk-0.vmdk", "vm-disk-1.vmdk")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, b)
	}
	a, err := OpenArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.DescriptorName() != "vm.ovf" || len(a.Members()) != 4 {
		t.Fatalf("DescriptorName %q, members %+v", a.DescriptorName(), a.Members())
	}
	if mf, _ := a.Manifest(); mf == nil || len(mf.Entries) != 3 {
		t.Fatalf("manifest %+v", mf)
	}
	rc, _, err := a.Open("vm-disk-0.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, fx.data["vm-disk-0.vmdk"]) {
		t.Fatalf("disk from a PAX OVA: %d bytes, %v", len(got), err)
	}
}
