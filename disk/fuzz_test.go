package disk

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/disktest"
)

// Probe and Open take files from an artifact: on any input they must fail
// with an error, never panic or hang; what Probe accepts has its extents
// beside the descriptor; and when both accept a file, they name the same
// format and size. (The vmdk package fuzzes its own parsers.)
func FuzzProbe(f *testing.F) {
	f.Add([]byte(disktest.Descriptor("twoGbMaxExtentSparse", "ffffffff", `RW 4192256 SPARSE "disk-s001.vmdk"`, `RW 2048 FLAT "f.vmdk" 0`, "RDONLY 10 ZERO")))
	f.Add([]byte(disktest.Descriptor("monolithicSparse", "1234", `RW 1 SPARSE "a.vmdk"`) + "parentFileNameHint=\"p.vmdk\"\n"))
	f.Add([]byte(disktest.Descriptor("monolithicFlat", "ffffffff", `RW 8 FLAT "../etc/passwd" 0`)))
	f.Add(disktest.SparseVMDK(2048, disktest.Descriptor("streamOptimized", "ffffffff", `RW 2048 SPARSE "so.vmdk"`)))
	f.Add(disktest.QCOW2{Size: 1 << 20}.Bytes())
	f.Add(disktest.DynamicVHD(1 << 20))
	f.Add(disktest.VDI(1 << 20))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "d.vmdk")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		info, err := Probe(p)
		if err != nil {
			return
		}
		if info.Capacity < 0 || info.Format.Native() && info.Capacity == 0 && info.Subformat != SparseExtent {
			t.Fatalf("accepted a %s disk of %d bytes", info.Format, info.Capacity)
		}
		for _, e := range info.Extents {
			if filepath.Dir(e) != dir {
				t.Fatalf("accepted extent %s outside %s", e, dir)
			}
		}
		d, err := Open(context.Background(), p, OpenOptions{QemuImg: "-"})
		if err != nil {
			return
		}
		defer d.Close()
		if d.Format != info.Format || d.Size != info.Capacity {
			t.Fatalf("Open says %s of %d bytes, Probe %s of %d", d.Format, d.Size, info.Format, info.Capacity)
		}
	})
}
