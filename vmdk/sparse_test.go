package vmdk

import (
	"errors"
	"io"
	"os"
	"testing"
)

// TestFileDataRanges: SEEK_DATA/SEEK_HOLE find the data of a sparse file,
// so a conversion never reads its holes.
func TestFileDataRanges(t *testing.T) {
	p := tempPath(t, "sparse.raw")
	sparseFile(t, p, 64*mib, map[int64][]byte{8 * mib: randomBytes(1, 4096), 40 * mib: randomBytes(2, int(mib))})
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fileDataRanges(f, 64*mib) == nil {
		t.Skip("this filesystem does not support SEEK_DATA")
	}
	next := dataRanges(f, 64*mib)
	var covered int64
	var ranges [][2]int64
	for off := int64(0); ; {
		s, e, err := next(off)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ranges = append(ranges, [2]int64{s, e})
		covered += e - s
		off = e
	}
	if len(ranges) != 2 || ranges[0][0] > 8*mib || ranges[0][1] < 8*mib+4096 || ranges[1][0] > 40*mib || ranges[1][1] < 41*mib {
		t.Fatalf("data ranges %v miss the data", ranges)
	}
	if covered > 4*mib {
		t.Fatalf("data ranges %v cover %d bytes of a file holding 1 MiB + 4 KiB", ranges, covered)
	}
}
