package vmdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readBoth checks a foreign VMDK with Open and NewStreamReader against raw.
func readBoth(t *testing.T, vmdkPath, raw string) *Image {
	t.Helper()
	f, err := os.Open(vmdkPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, _ := f.Stat()
	im, err := Open(f, fi.Size())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	sameDisk(t, im, im.Size(), raw)
	sr, err := NewStreamReader(io.NewSectionReader(f, 0, fi.Size()))
	if err != nil {
		t.Fatalf("NewStreamReader: %v", err)
	}
	streamMatches(t, sr, raw)
	return im
}

func TestReadsQemuImgStream(t *testing.T) {
	qemu := qemuImg(t)
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	out := filepath.Join(dir, "q.vmdk")
	run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, out)
	im := readBoth(t, out, raw)
	if h := im.Header(); h.GDOffset == gdAtEnd || h.Flags&flagRedundantGT == 0 {
		t.Fatalf("not qemu-img's layout (directory in front, redundant tables): %+v", h)
	}
}

// TestReadsVMDKstream reads Debian's python3-vmdkstream output, whose last
// grain inflates short of its sector when the input size is odd.
func TestReadsVMDKstream(t *testing.T) {
	py := requireVMDKstream(t)
	dir := t.TempDir()
	raw := sampleRaw(t, dir)
	out := filepath.Join(dir, "v.vmdk")
	run(t, py, "-c", "import sys, VMDKstream; VMDKstream.convert_to_stream(sys.argv[1], sys.argv[2])", raw, out)
	im := readBoth(t, out, raw)
	if im.Descriptor() == nil || !strings.Contains(im.Descriptor().CreateType, "streamOptimized") {
		t.Fatalf("descriptor: %+v", im.Descriptor())
	}
}

// TestReadsProgressMarkers: VMware's NFC writer may send progress markers
// (type 4) between grains; readers skip them.
func TestReadsProgressMarkers(t *testing.T) {
	b := goodVMDK(t)
	l, err := CheckStreamLayout(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	at := l.GrainOffsets[1]
	var m [512]byte
	binary.LittleEndian.PutUint32(m[12:], markerProgress)
	binary.LittleEndian.PutUint64(m[16:], 4242)
	withProgress := append(append(append([]byte(nil), b[:at]...), m[:]...), b[at:]...)
	sr, err := NewStreamReader(bytes.NewReader(withProgress))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(sr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(io.NewSectionReader(mustOpen(t, b), 0, int64(len(got))))
	if !bytes.Equal(got, want) {
		t.Fatal("progress marker changed the decoded disk")
	}
}

func mustOpen(t testing.TB, b []byte) *Image {
	t.Helper()
	im, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

// TestMalformed: each kind of damage is refused with an error saying where.
func TestMalformed(t *testing.T) {
	good := goodVMDK(t)
	l, err := CheckStreamLayout(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	g0 := l.GrainOffsets[0]
	gdAt := int64(l.GDOffset) * 512
	cases := []struct {
		name     string
		mutate   func([]byte) []byte
		want     string
		offset   int64 // want FormatError.Offset (-1: any)
		inStream bool  // the stream reader must see it too
		inImage  bool  // Open + reading everything must see it
	}{
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }, "bad magic", 0, true, true},
		{"version 4", func(b []byte) []byte { le.PutUint32(b[4:], 4); return b }, "version 4", 4, true, true},
		{"mangled newline bytes", func(b []byte) []byte { b[75] = '\n'; return b }, "text-mode", 73, true, true},
		{"zero capacity", func(b []byte) []byte { le.PutUint64(b[12:], 0); return b }, "capacity 0", 12, true, true},
		{"capacity beyond the directory", func(b []byte) []byte { le.PutUint64(b[12:], 1<<40); return b }, "capacity", -1, false, true},
		{"grain size 3", func(b []byte) []byte { le.PutUint64(b[20:], 3); return b }, "grain size 3", 20, true, true},
		{"huge descriptor", func(b []byte) []byte { le.PutUint64(b[36:], 1<<40); return b }, "descriptor size", 36, true, true},
		{"grain marker beyond capacity", func(b []byte) []byte { le.PutUint64(b[g0:], 81920); return b }, "LBA 81920", g0, true, true},
		{"corrupt DEFLATE", func(b []byte) []byte {
			for i := g0 + 40; i < g0+200; i++ {
				b[i] ^= 0x5a
			}
			return b
		}, "corrupt DEFLATE", g0 + 12, true, true},
		{"compressed size too big", func(b []byte) []byte { le.PutUint32(b[g0+8:], 1<<30); return b }, "compressed size", g0 + 8, true, true},
		{"directory entry outside the file", func(b []byte) []byte { le.PutUint32(b[gdAt:], 1<<30); return b }, "outside", gdAt, false, true},
		{"unknown marker", func(b []byte) []byte {
			le.PutUint32(b[gdAt-512+12:], 9)
			return b
		}, "unknown marker type 9", gdAt - 512 + 12, true, false},
		{"truncated", func(b []byte) []byte { return b[:len(b)/1024*512] }, "truncated", -1, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.mutate(append([]byte(nil), good...))
			check := func(who string, err error) {
				t.Helper()
				var fe *FormatError
				if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &fe) {
					t.Fatalf("%s: got %v, want a FormatError containing %q", who, err, c.want)
				}
				if c.offset >= 0 && fe.Offset != c.offset {
					t.Fatalf("%s: error at offset %d, want %d: %v", who, fe.Offset, c.offset, err)
				}
			}
			if c.inImage {
				check("Open", readAllImage(b))
			}
			if c.inStream {
				sr, err := NewStreamReader(bytes.NewReader(b))
				if err == nil {
					_, err = io.Copy(io.Discard, sr)
				}
				check("StreamReader", err)
				_, _, err = decodeBytes(b, 2)
				check("DecodeTo", err)
			}
		})
	}
}

// readAllImage opens b and reads every allocated range.
func readAllImage(b []byte) error {
	im, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return err
	}
	buf := make([]byte, GrainSize)
	for off := int64(0); ; {
		s, e, err := im.NextData(off)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for p := s; p < e; p += int64(len(buf)) {
			if _, err := im.ReadAt(buf[:min(int64(len(buf)), e-p)], p); err != nil && err != io.EOF {
				return err
			}
		}
		off = e
	}
}

func TestParseDescriptor(t *testing.T) {
	d, err := ParseDescriptor("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"twoGbMaxExtentSparse\"\n\n" +
		"RW 4192256 SPARSE \"my disk-s001.vmdk\"\nRW 10240 FLAT \"flat.vmdk\" 2048\nRW 100 ZERO\n" +
		"ddb.virtualHWVersion = \"6\" # a comment\nddb.adapterType = \"lsilogic\"\n\x00\x00")
	if err != nil {
		t.Fatal(err)
	}
	want := []Extent{{"RW", 4192256, "SPARSE", "my disk-s001.vmdk", 0}, {"RW", 10240, "FLAT", "flat.vmdk", 2048}, {"RW", 100, "ZERO", "", 0}}
	if len(d.Extents) != 3 || d.Extents[0] != want[0] || d.Extents[1] != want[1] || d.Extents[2] != want[2] {
		t.Fatalf("extents %+v", d.Extents)
	}
	if d.CreateType != "twoGbMaxExtentSparse" || d.DDB["ddb.virtualHWVersion"] != "6" || d.DDB["ddb.adapterType"] != "lsilogic" {
		t.Fatalf("descriptor %+v", d)
	}
	for _, bad := range []string{"RW x SPARSE \"a\"", "RO 10 SPARSE \"a\"", "RW 10 SPARSE a.vmdk", "RW 10 FLAT \"a\" x"} {
		if _, err := ParseDescriptor(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		adapter   string
		sectors   uint64
		h, s, cyl uint64
	}{
		{"lsilogic", 23068672, 255, 63, 1435}, // an ESXi export: 11 GiB
		{"buslogic", 209714, 64, 32, 102},     // a VMware stream of ~100 MiB
		{"lsilogic", 3 << 20, 128, 32, 768},   // 1.5 GiB
		{"ide", 20480, 16, 63, 20},            // qemu-img's choice for IDE
		{"ide", 1 << 40, 16, 63, 16383},
		{"lsilogic", 1 << 40, 255, 63, 65535},
		{"lsilogic", 2, 64, 32, 1},
	} {
		h, s, cyl := geometry(c.adapter, c.sectors)
		if h != c.h || s != c.s || cyl != c.cyl {
			t.Errorf("geometry(%s, %d) = %d/%d/%d, want %d/%d/%d", c.adapter, c.sectors, cyl, h, s, c.cyl, c.h, c.s)
		}
	}
}
