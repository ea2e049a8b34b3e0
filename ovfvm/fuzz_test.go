package ovfvm

import (
	"strings"
	"testing"
)

// The .vmx and VMDK descriptor readers take files from the artifact: they
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

func FuzzParseDescriptor(f *testing.F) {
	f.Add([]byte(descriptorText("twoGbMaxExtentSparse", "ffffffff", `RW 4192256 SPARSE "disk-s001.vmdk"`, `RW 2048 FLAT "f.vmdk" 0`, "RDONLY 10 ZERO")))
	f.Add([]byte(descriptorText("monolithicSparse", "1234", `RW 1 SPARSE "a.vmdk"`) + "parentFileNameHint=\"p.vmdk\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseDescriptor(data)
		if err != nil {
			return
		}
		for _, e := range d.extents {
			if e.sectors <= 0 || strings.ContainsAny(e.file, `/\`) {
				t.Fatalf("accepted extent %+v", e)
			}
		}
	})
}
