package ovfvm

import (
	"os"
	"path/filepath"
	"testing"
)

// The .vmx reader and the disk probe take files from the artifact: they
// must fail with an error, never panic or hang, on any input.

func FuzzParseVMX(f *testing.F) {
	f.Add([]byte(vmwareISOVMX))
	f.Add([]byte("a = \"|22|7C|zz|\"\nb=bare # c\n"))
	f.Add([]byte("\xef\xbb\xbfx = \"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ParseVMX(data)
		if err != nil {
			return
		}
		_ = v.hardDisks()
		var c Config
		for _, n := range c.mergeVMX(v) {
			if n == "" {
				t.Fatal("empty note")
			}
		}
	})
}

// ProbeDisk reads VMDK headers and descriptors through the vmdk package
// (whose own fuzzers cover its parsers); this checks what ovfvm adds: the
// extents it accepts are plain files beside the descriptor.
func FuzzProbeDisk(f *testing.F) {
	f.Add([]byte(descriptorText("twoGbMaxExtentSparse", "ffffffff", `RW 4192256 SPARSE "disk-s001.vmdk"`, `RW 2048 FLAT "f.vmdk" 0`, "RDONLY 10 ZERO")))
	f.Add([]byte(descriptorText("monolithicSparse", "1234", `RW 1 SPARSE "a.vmdk"`) + "parentFileNameHint=\"p.vmdk\"\n"))
	f.Add([]byte(descriptorText("monolithicFlat", "ffffffff", `RW 8 FLAT "../etc/passwd" 0`)))
	f.Add(sparseHeader(2048, descriptorText("streamOptimized", "ffffffff", `RW 2048 SPARSE "so.vmdk"`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "d.vmdk")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := ProbeDisk(p)
		if err != nil {
			return
		}
		if d.Capacity <= 0 {
			t.Fatalf("accepted a disk of %d bytes", d.Capacity)
		}
		for _, e := range d.Extents {
			if filepath.Dir(e) != dir {
				t.Fatalf("accepted extent %s outside %s", e, dir)
			}
		}
	})
}
