package ovfvm

import (
	"testing"
)

// The .vmx reader takes a file from the artifact: it must fail with an
// error, never panic or hang, on any input (package disk fuzzes the probe).

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
