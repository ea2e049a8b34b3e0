package vmdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

type roundTrip struct {
	name   string
	size   int64
	chunks map[int64][]byte
	heavy  bool // big sparse files: skipped under -short
}

const (
	kib = int64(1) << 10
	mib = int64(1) << 20
	gib = int64(1) << 30
)

func roundTrips() []roundTrip {
	return []roundTrip{
		{name: "random", size: 3 * mib, chunks: map[int64][]byte{0: randomBytes(1, int(3*mib))}},
		{name: "mixed", size: 8 * mib, chunks: map[int64][]byte{
			0: textBytes(1, int(mib)), 2 * mib: randomBytes(2, int(mib)), 5*mib + 100: textBytes(2, int(300*kib)),
		}},
		{name: "all-zero-written", size: 4 * mib, chunks: map[int64][]byte{0: make([]byte, 4*mib)}},
		{name: "all-zero-sparse", size: 1 * gib},
		{name: "odd-777-bytes", size: 777, chunks: map[int64][]byte{0: textBytes(3, 777)}},
		{name: "odd-513-bytes", size: 513, chunks: map[int64][]byte{512: {0xff}}},
		{name: "odd-3-grains-and-a-sector", size: 3*GrainSize + 512, chunks: map[int64][]byte{3 * GrainSize: randomBytes(4, 512)}},
		{name: "odd-1MiB-plus-1000", size: mib + 1000, chunks: map[int64][]byte{mib - 10: randomBytes(5, 1010)}},
		{name: "sparse-2GiB", size: 2 * gib, heavy: true, chunks: map[int64][]byte{
			4096:                textBytes(6, int(mib)),
			32*mib - 1000:       randomBytes(7, int(mib)), // across a grain table boundary
			700 * mib:           randomBytes(8, int(2*mib)),
			2*gib - 3*GrainSize: textBytes(9, int(3*GrainSize)),
		}},
		{name: "sparse-9GiB-odd", size: 9*gib + 12345, heavy: true, chunks: map[int64][]byte{
			0:             randomBytes(10, int(GrainSize)),
			4*gib + 77:    textBytes(11, int(mib)), // beyond 32-bit byte offsets
			8*gib + mib:   randomBytes(12, int(mib)),
			9*gib + 12344: {0x42}, // the very last byte
		}},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, c := range roundTrips() {
		t.Run(c.name, func(t *testing.T) {
			if c.heavy {
				testenv.Require(t, testenv.Large, "big sparse disk")
			}
			dir := t.TempDir()
			raw, out := dir+"/disk.raw", dir+"/disk.vmdk"
			sparseFile(t, raw, c.size, c.chunks)
			st := writeVMDK(t, raw, out, fixedIDs)
			checkOurVMDK(t, raw, out, c.size, st)
		})
	}
}

// checkOurVMDK runs every check on a VMDK Write made from raw.
func checkOurVMDK(t *testing.T, raw, vmdkPath string, size int64, st Stats) {
	t.Helper()
	wantGrains, wantPopulated := nonZeroGrains(t, raw, size)
	if st.Capacity != (size+511)/512*512 || st.AllocatedGrains != wantGrains || st.PopulatedSize != wantPopulated {
		t.Fatalf("stats %+v; want capacity %d, %d grains, populated %d", st, (size+511)/512*512, wantGrains, wantPopulated)
	}
	f, err := os.Open(vmdkPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := CheckStreamLayout(f, st.Size)
	if err != nil {
		t.Fatalf("layout: %v", err)
	}
	if l.Grains != wantGrains {
		t.Fatalf("layout has %d grains, want %d", l.Grains, wantGrains)
	}
	im, err := Open(f, st.Size)
	if err != nil {
		t.Fatal(err)
	}
	noZeroGrain(t, im, l)
	sameDisk(t, im, im.Size(), raw)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	sr, err := NewStreamReader(f)
	if err != nil {
		t.Fatal(err)
	}
	streamMatches(t, sr, raw)
	if g, p, err := im.Allocated(); err != nil || g != wantGrains || p != wantPopulated {
		t.Fatalf("Image.Allocated = %d, %d, %v; want %d, %d", g, p, err, wantGrains, wantPopulated)
	}

	if !testenv.Allows(testenv.RealProgram) {
		return // qemu-img and vmdkinfo: not under -short
	}
	qemu := qemuImg(t)
	if out := run(t, qemu, "compare", "-f", "raw", "-F", "vmdk", raw, vmdkPath); !strings.Contains(out, "Images are identical") {
		t.Fatalf("qemu-img compare: %s", out)
	}
	var info struct {
		Format      string `json:"format"`
		VirtualSize int64  `json:"virtual-size"`
		Specific    struct {
			Data struct {
				CreateType string `json:"create-type"`
			} `json:"data"`
		} `json:"format-specific"`
	}
	if err := json.Unmarshal([]byte(run(t, qemu, "info", "--output=json", vmdkPath)), &info); err != nil {
		t.Fatal(err)
	}
	if info.Format != "vmdk" || info.Specific.Data.CreateType != "streamOptimized" || info.VirtualSize != st.Capacity {
		t.Fatalf("qemu-img info: %+v", info)
	}
	vi := run(t, program(t, "vmdkinfo"), vmdkPath)
	if !strings.Contains(vi, "Stream optimized") || !strings.Contains(vi, "bytes)") {
		t.Fatalf("vmdkinfo:\n%s", vi)
	}
}

// nonZeroGrains counts the grains of the raw file holding a non-zero byte.
func nonZeroGrains(t testing.TB, raw string, size int64) (grains, populated int64) {
	t.Helper()
	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	capBytes := (size + 511) / 512 * 512
	next := dataRanges(f, size)
	b := make([]byte, GrainSize)
	last := int64(-1)
	for off := int64(0); ; {
		s, e, err := next(off)
		if errors.Is(err, io.EOF) {
			return grains, populated
		}
		if err != nil {
			t.Fatal(err)
		}
		for g := s / GrainSize; g*GrainSize < e; g++ {
			if g == last {
				continue
			}
			last = g
			n := min(GrainSize, capBytes-g*GrainSize)
			clear(b)
			f.ReadAt(b[:n], g*GrainSize)
			if !bytes.Equal(b[:n], zeroGrain[:n]) {
				grains++
				populated += n
			}
		}
		off = e
	}
}

// noZeroGrain decompresses every stored grain and checks it is not all zeros.
func noZeroGrain(t testing.TB, im *Image, l *Layout) {
	t.Helper()
	b := make([]byte, GrainSize)
	for g := range l.GrainOffsets {
		off := int64(g) * GrainSize
		n := min(GrainSize, im.Size()-off)
		if _, err := im.ReadAt(b[:n], off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if bytes.Equal(b[:n], zeroGrain[:n]) {
			t.Fatalf("grain %d is stored but all zeros", g)
		}
	}
}

// streamMatches reads sr to the end and compares it with the raw file,
// skipping the file's holes (where sr must return zeros).
func streamMatches(t testing.TB, sr *StreamReader, raw string) {
	t.Helper()
	f, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if want := (fi.Size() + 511) / 512 * 512; sr.Size() != want {
		t.Fatalf("stream size %d, want %d", sr.Size(), want)
	}
	next := dataRanges(f, fi.Size())
	ds, de, derr := next(0)
	a := make([]byte, 4*mib)
	b := make([]byte, 4*mib)
	var pos int64
	for {
		n, err := io.ReadFull(sr, a)
		if n > 0 {
			chunk := a[:n]
			for derr == nil && de <= pos {
				ds, de, derr = next(de)
			}
			if derr == nil && ds < pos+int64(n) {
				clear(b[:n])
				f.ReadAt(b[:n], pos)
				if !bytes.Equal(chunk, b[:n]) {
					t.Fatalf("stream differs from the raw disk in [%d, %d)", pos, pos+int64(n))
				}
			} else if !allZero(chunk) {
				t.Fatalf("stream has data in the raw disk's hole at [%d, %d)", pos, pos+int64(n))
			}
			pos += int64(n)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatalf("stream at %d: %v", pos, err)
		}
	}
	if pos != sr.Size() {
		t.Fatalf("stream gave %d bytes, want %d", pos, sr.Size())
	}
}

func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeroGrain))
		if !bytes.Equal(b[:n], zeroGrain[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
