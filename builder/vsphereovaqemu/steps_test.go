package vsphereovaqemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/leftover"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// The disk path without a guest: the OVA's streamOptimized disks are
// decoded into sparse raw working copies (the second grown by disk_sizes),
// then exported as streamOptimized VMDKs whose content is the source's,
// with an OVF whose only changes are the edited values and a manifest
// whose digests match the files.
func TestDecodeExportRoundTrip(t *testing.T) {
	d1, d2 := smallDisk(1, 8<<20), smallDisk(2, 2<<20)
	src := smallOVA(t, ovfvm.Config{Name: "base", CPUs: 2, CoresPerSocket: 1, Memory: 1024, DiskControllerType: []string{"sata"}}, d1, d2)
	out := filepath.Join(t.TempDir(), "out")
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	c := prepared(t, map[string]interface{}{
		"source_path": src, "communicator": "none", "CPUs": 4, "cpu_cores": 2, "RAM": 2048,
		"disk_sizes": []int64{0, 3}, "export": map[string]interface{}{"name": "app", "output_directory": out},
	})
	r := newStepRunner(t)
	r.must(c.SourceConfig.OpenStep())
	r.must(&stepReadMachine{config: &c.SourceConfig})
	dec := &stepDecodeDisks{hw: &c.HardwareConfig}
	r.must(dec)
	disks := r.state.Get("work_disks").([]workDisk)
	if len(disks) != 2 || disks[0].Size != 8<<20 || disks[1].Size != 3<<20 {
		t.Fatalf("work disks %+v", disks)
	}
	got, _ := os.ReadFile(disks[0].Path)
	if !bytes.Equal(got, d1) {
		t.Error("disk 1 decoded differs from the source")
	}
	if used := allocated(t, disks[0].Path); used > 2<<20 {
		t.Errorf("disk 1 working copy uses %d bytes: the hole was written", used)
	}
	r.must(&stepExport{config: c.Export, hw: &c.HardwareConfig})
	files := r.state.Get("export_files").([]string)
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if strings.Join(names, " ") != "app-disk-0.vmdk app-disk-1.vmdk app.ovf app.mf" {
		t.Errorf("export files %v", names)
	}
	for i, want := range [][]byte{d1, append(d2, make([]byte, 1<<20)...)} {
		p := filepath.Join(out, fmt.Sprintf("app-disk-%d.vmdk", i))
		raw := readVMDK(t, p)
		if !bytes.Equal(raw, want) {
			t.Errorf("%s: content differs from the working disk (len %d, want %d)", p, len(raw), len(want))
		}
	}
	desc, _ := os.ReadFile(filepath.Join(out, "app.ovf"))
	d, err := ovf.Parse(desc)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Files() {
		st, _ := os.Stat(filepath.Join(out, f.Href))
		if st == nil || st.Size() != f.Size {
			t.Errorf("File %s: ovf:size %d, file %v", f.Href, f.Size, st)
		}
	}
	m, err := readMachine(mustDocument(t, desc))
	if err != nil {
		t.Fatal(err)
	}
	if m.CPUs != 4 || m.CoresPerSocket != 2 || m.MemoryMiB != 2048 || m.Disks[1].CapacityBytes != 3<<20 || m.Disks[0].CapacityBytes != 8<<20 {
		t.Errorf("exported machine %+v", m)
	}
	mf, _ := os.ReadFile(filepath.Join(out, "app.mf"))
	man, err := ovf.ParseManifest(mf)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"app.ovf", "app-disk-0.vmdk", "app-disk-1.vmdk"} {
		e, ok := man.Lookup(n)
		data, _ := os.ReadFile(filepath.Join(out, n))
		if !ok || e.Digest != fmt.Sprintf("%x", sha256.Sum256(data)) {
			t.Errorf("manifest entry for %s: %+v, %v", n, e, ok)
		}
	}
	r.cleanup()
	if _, err := os.Stat(disks[0].Path); !os.IsNotExist(err) {
		t.Errorf("working disk still there after cleanup: %v", err)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("TMPDIR not empty after cleanup: %v", entryNames(ents))
	}
	if _, err := os.Stat(filepath.Join(out, "app.ovf")); err != nil {
		t.Errorf("a successful export was removed by cleanup: %v", err)
	}
}

// A corrupt disk in the OVA fails the decode and leaves no working disk.
// The manifest says whose fault it is: a disk damaged after the manifest was
// written is reported as the corrupt member (its digests, the decode error
// as detail); a disk whose digest matches was written broken.
func TestDecodeCorruptOVA(t *testing.T) {
	disk := smallDisk(3, 2<<20)
	cfg := ovfvm.Config{Name: "base"}
	src := smallOVA(t, cfg, disk)
	member, grain := diskMember(t, src)
	flip := func(at int64) string {
		data, _ := os.ReadFile(src)
		data[at] ^= 0xff
		p := filepath.Join(t.TempDir(), "corrupt.ova")
		os.WriteFile(p, data, 0o644)
		return p
	}
	digest := []string{"base-disk-0.vmdk does not match the OVA's manifest: SHA256 expected ", ", actual "}
	cases := []struct {
		name string
		ova  string
		want []string
	}{
		// The disk's last sectors (footer, end-of-stream marker's padding)
		// carry nothing the decoder checks: only the digest catches it.
		{"byte flipped in the footer", flip(member.Offset + member.Size - 400), digest},
		{"byte flipped in a grain", flip(member.Offset + grain + 200),
			append(digest, "(reading it failed first: malformed VMDK at byte offset")},
		{"written broken", smallOVAEdited(t, cfg, func(p string) {
			b, _ := os.ReadFile(p)
			b[grain+200] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}, disk), []string{"malformed VMDK at byte offset", "base-disk-0.vmdk matches its manifest digest: the file is intact"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			conf := prepared(t, map[string]interface{}{"source_path": c.ova, "communicator": "none", "export": map[string]interface{}{"output_directory": filepath.Join(t.TempDir(), "o")}})
			r := newStepRunner(t)
			r.must(conf.SourceConfig.OpenStep())
			r.must(&stepReadMachine{config: &conf.SourceConfig})
			if a := r.run(&stepDecodeDisks{hw: &conf.HardwareConfig}); a == 0 {
				t.Fatal("decoding a corrupt OVA succeeded")
			}
			msg := fmt.Sprint(r.state.Get("error"))
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q:\n%s", w, msg)
				}
			}
			t.Logf("error: %s", msg)
			r.cleanup()
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("TMPDIR not empty after a failed decode: %v", entryNames(ents))
			}
		})
	}
}

// diskMember finds the OVA's first VMDK member and the offset of its first
// grain's marker within it.
func diskMember(t *testing.T, p string) (ova.Member, int64) {
	t.Helper()
	a, err := ova.OpenArchive(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, m := range a.Members() {
		if !strings.HasSuffix(m.Name, ".vmdk") {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		l, err := vmdk.CheckStreamLayout(io.NewSectionReader(f, m.Offset, m.Size), m.Size)
		if err != nil {
			t.Fatal(err)
		}
		return m, l.GrainOffsets[0]
	}
	t.Fatal("no disk in the OVA")
	return ova.Member{}, 0
}

// A cancelled export publishes nothing and leaves no temporary file.
func TestExportCancelledLeavesNothing(t *testing.T) {
	src := smallOVA(t, ovfvm.Config{Name: "base"}, smallDisk(4, 8<<20))
	out := filepath.Join(t.TempDir(), "out")
	c := prepared(t, map[string]interface{}{"source_path": src, "communicator": "none", "export": map[string]interface{}{"output_directory": out}})
	r := newStepRunner(t)
	r.must(c.SourceConfig.OpenStep())
	r.must(&stepReadMachine{config: &c.SourceConfig})
	r.must(&stepDecodeDisks{hw: &c.HardwareConfig})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &stepExport{config: c.Export, hw: &c.HardwareConfig}
	r.done = append(r.done, s)
	if a := s.Run(ctx, r.state); a == 0 {
		t.Fatal("a cancelled export succeeded")
	}
	r.state.Put("halted", true)
	r.cleanup()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(out)
		left, _ := atomicfile.Leftovers(out)
		t.Errorf("output folder left behind: %v (unfinished: %v)", entryNames(ents), left)
	}
}

func readVMDK(t *testing.T, p string) []byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr, err := vmdk.NewStreamReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(sr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestDecodeRemovesStaleWork: the working folder a killed build left in
// TMPDIR (its lock free, a minute old) is removed and reported; a live
// build's and a folder that is not ours stay.
func TestDecodeRemovesStaleWork(t *testing.T) {
	src := smallOVA(t, ovfvm.Config{Name: "base"}, smallDisk(5, 2<<20))
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	stale := filepath.Join(tmp, workDirPrefix+"1")
	leftover.Folder(t, stale, 4096)
	live, err := atomicfile.TempDir(tmp, ovfEnvDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	defer atomicfile.RemoveTemp(live)
	foreign := filepath.Join(tmp, workDirPrefix+"foreign")
	os.Mkdir(foreign, 0o700)
	leftover.Age(t, live, foreign)
	c := prepared(t, map[string]interface{}{"source_path": src, "communicator": "none", "export": map[string]interface{}{"output_directory": filepath.Join(t.TempDir(), "o")}})
	r := newStepRunner(t)
	r.must(c.SourceConfig.OpenStep())
	r.must(&stepReadMachine{config: &c.SourceConfig})
	r.must(&stepDecodeDisks{hw: &c.HardwareConfig})
	if want := "Removed " + stale + " (4.0 KiB), left by an interrupted build"; !strings.Contains(r.out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, r.out)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale working folder still there: %v", err)
	}
	for _, p := range []string{live, foreign} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	r.cleanup()
}
