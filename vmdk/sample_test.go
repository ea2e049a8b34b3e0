package vmdk

import (
	"path/filepath"
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
