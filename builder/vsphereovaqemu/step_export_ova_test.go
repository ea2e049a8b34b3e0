package vsphereovaqemu

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// With output_format = "ova" the working disks are encoded straight into
// one OVA: output_directory holds only <name>.ova and its checksum file,
// whose members are .ovf, .mf and the disks (in References order), with
// the edited descriptor's sizes matching the members and every member
// matching the manifest; the disks decode to the working disks' content.
func TestDecodeExportOVA(t *testing.T) {
	d1, d2 := smallDisk(1, 8<<20), smallDisk(2, 2<<20)
	src := smallOVA(t, ovfvm.Config{Name: "base", CPUs: 2, CoresPerSocket: 1, Memory: 1024, DiskControllerType: []string{"sata"}}, d1, d2)
	out := filepath.Join(t.TempDir(), "out")
	c := prepared(t, map[string]interface{}{
		"source_path": src, "communicator": "none", "CPUs": 4, "RAM": 2048,
		"export": map[string]interface{}{"name": "app", "output_directory": out, "output_format": "ova"},
	})
	r := newStepRunner(t)
	r.must(c.SourceConfig.OpenStep())
	r.must(&stepReadMachine{config: &c.SourceConfig})
	r.must(&stepDecodeDisks{hw: &c.HardwareConfig})
	r.must(&stepExport{config: c.Export, hw: &c.HardwareConfig})
	files := r.state.Get("export_files").([]string)
	want := []string{filepath.Join(out, "app.ova"), filepath.Join(out, "app.ova.sha256")}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("export files %v, want %v", files, want)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 2 {
		t.Fatalf("output_directory holds %v", entryNames(ents))
	}
	a, err := ova.OpenArchive(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	names := a.Names()
	if strings.Join(names, " ") != "app.ovf app.mf app-disk-0.vmdk app-disk-1.vmdk" {
		t.Fatalf("members %v", names)
	}
	d, err := a.Descriptor() // checked against the .mf
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range d.Files() {
		m := a.Members()[2+i]
		if f.Href != m.Name || f.Size != m.Size {
			t.Errorf("References/File %s ovf:size %d, member %s of %d bytes", f.Href, f.Size, m.Name, m.Size)
		}
	}
	for i, want := range [][]byte{d1, d2} {
		name := fmt.Sprintf("app-disk-%d.vmdk", i)
		rc, _, err := a.Open(name) // a digest mismatch fails the read
		if err != nil {
			t.Fatal(err)
		}
		sr, err := vmdk.NewStreamReader(rc)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(sr); err != nil || !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: %d bytes back (%v), want the working disk's %d", name, got.Len(), err, len(want))
		}
		rc.Close()
	}
	m, err := readMachine(mustDocument(t, mustDescriptorBytes(t, a)))
	if err != nil || m.CPUs != 4 || m.MemoryMiB != 2048 {
		t.Errorf("exported machine %+v (%v)", m, err)
	}
	r.cleanup()
	if _, err := os.Stat(files[0]); err != nil {
		t.Errorf("a successful export was removed by cleanup: %v", err)
	}
	t.Run("virt-v2v", func(t *testing.T) {
		virtv2v.Check(t, files[0], "nr vCPUs: 4", "memory: 2147483648")
	})
}

// A failure in the middle (the second disk's working copy is gone) leaves
// no OVA, no checksum file and no temporary file.
func TestExportOVAFailureLeavesNothing(t *testing.T) {
	src := smallOVA(t, ovfvm.Config{Name: "base"}, smallDisk(1, 2<<20), smallDisk(2, 2<<20))
	parent := t.TempDir()
	out := filepath.Join(parent, "out")
	c := prepared(t, map[string]interface{}{
		"source_path": src, "communicator": "none",
		"export": map[string]interface{}{"name": "app", "output_directory": out, "output_format": "ova"},
	})
	r := newStepRunner(t)
	r.must(c.SourceConfig.OpenStep())
	r.must(&stepReadMachine{config: &c.SourceConfig})
	r.must(&stepDecodeDisks{hw: &c.HardwareConfig})
	disks := r.state.Get("work_disks").([]workDisk)
	if err := os.Remove(disks[1].Path); err != nil {
		t.Fatal(err)
	}
	step := &stepExport{config: c.Export, hw: &c.HardwareConfig}
	if a := r.run(step); a == multistep.ActionContinue {
		t.Fatal("export succeeded without its second disk")
	}
	if err, _ := r.state.Get("error").(error); err == nil || !strings.Contains(err.Error(), "encoding disk 1 to app-disk-1.vmdk") {
		t.Errorf("error %v", err)
	}
	r.cleanup()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(out)
		t.Errorf("output_directory still exists with %v", entryNames(ents))
	}
	if left, _ := atomicfile.Leftovers(parent); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func mustDescriptorBytes(t *testing.T, a *ova.Archive) []byte {
	t.Helper()
	b, err := a.DescriptorBytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
