package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zlib"
)

// The fuzz targets feed arbitrary bytes to every reader. `go test` runs the
// seeds checked in under testdata/fuzz (regenerate them with
// VMDK_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./vmdk); `go test
// -fuzz FuzzOpen ./vmdk` explores further. A reader may refuse an input but
// must not panic, hang or allocate without bound.

// fuzzReadLimit bounds how much of a fuzzed disk is read back.
const fuzzReadLimit = 4 << 20

func FuzzOpen(f *testing.F) {
	for _, s := range tinySeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if im.Size() <= 0 {
			t.Fatalf("opened with size %d", im.Size())
		}
		buf := make([]byte, 64<<10)
		read := 0
		for off := int64(0); read < fuzzReadLimit; {
			s, e, err := im.NextData(off)
			if err != nil {
				break
			}
			if s < off || e <= s || e > im.Size() {
				t.Fatalf("NextData(%d) = [%d, %d) for a %d-byte disk", off, s, e, im.Size())
			}
			n := min(int64(len(buf)), e-s)
			if _, err := im.ReadAt(buf[:n], s); err != nil && err != io.EOF {
				break
			}
			read += int(n)
			off = s + n
		}
		im.Allocated()
		CheckStreamLayout(bytes.NewReader(b), int64(len(b)))
	})
}

func FuzzStreamReader(f *testing.F) {
	for _, s := range tinySeeds() {
		f.Add(s)
	}
	// qemu-img's layout without an end-of-stream marker, and real writers'
	// streams of the corpus shapes.
	front := tinySeeds()[1]
	f.Add(front[:len(front)-SectorSize])
	for _, s := range corpusSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sr, err := NewStreamReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		n, err := io.CopyN(io.Discard, sr, fuzzReadLimit)
		if err == nil && n != fuzzReadLimit {
			t.Fatalf("read %d bytes without an error", n)
		}
		if err == io.EOF && n != min(sr.Size(), fuzzReadLimit) {
			t.Fatalf("EOF after %d bytes of a %d-byte disk", n, sr.Size())
		}
		if sr.Size() <= fuzzReadLimit {
			decodesLikeRead(t, b)
		}
	})
}

// decodesLikeRead: DecodeTo, whatever its workers, gives what Read gives:
// the same disk or the same error.
func decodesLikeRead(t *testing.T, b []byte) {
	t.Helper()
	want, rerr := readBytes(b)
	for _, workers := range []int{1, 3} {
		got, _, err := decodeBytes(b, workers)
		if (err == nil) != (rerr == nil) || err != nil && err.Error() != rerr.Error() {
			t.Fatalf("DecodeTo with %d workers: %v; Read: %v", workers, err, rerr)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("DecodeTo with %d workers decodes another disk than Read", workers)
		}
	}
}

func FuzzQCOW2(f *testing.F) {
	f.Add([]byte("QFI\xfb\x00\x00\x00\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		q, err := OpenQCOW2(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		buf := make([]byte, 64<<10)
		read := 0
		for off := int64(0); read < fuzzReadLimit; {
			s, e, err := q.NextData(off)
			if err != nil {
				break
			}
			if s < off || e <= s || e > q.Size() {
				t.Fatalf("NextData(%d) = [%d, %d) for a %d-byte disk", off, s, e, q.Size())
			}
			n := min(int64(len(buf)), e-s)
			if _, err := q.ReadAt(buf[:n], s); err != nil && err != io.EOF {
				break
			}
			read += int(n)
			off = s + n
		}
	})
}

func FuzzParseDescriptor(f *testing.F) {
	f.Add("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"monolithicFlat\"\nRW 2048 FLAT \"a b-flat.vmdk\" 0\nRW 10 ZERO\nddb.adapterType = \"ide\" # x\n")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDescriptor(s)
		if err != nil {
			return
		}
		for _, e := range d.Extents {
			if e.Sectors > maxCapacity {
				t.Fatalf("extent of %d sectors accepted", e.Sectors)
			}
		}
	})
}

// tinySeeds builds small sparse extents in each layout the readers accept:
// 8 grains of 4 KiB, 128-entry grain tables, so a whole file is a few KiB.
func tinySeeds() [][]byte {
	data := make([]byte, 8*4096)
	copy(data[4096:], textBytes(60, 4096))
	copy(data[5*4096+100:], randomBytes(61, 3000))
	return [][]byte{
		tinyStream(data, true),  // VMware: directory at the end, footer, EOS
		tinyStream(data, false), // qemu-img: directory in front
		tinySparse(data),        // monolithicSparse: raw grains
	}
}

const tinyGrainSectors = 8

func tinyHeader(capacity uint64, flags uint32, gd uint64, overhead uint64) Header {
	return Header{Version: 3, Flags: flags, Capacity: capacity, GrainSize: tinyGrainSectors,
		DescriptorOffset: 1, DescriptorSize: 1, NumGTEsPerGT: 128, GDOffset: gd, OverHead: overhead,
		CompressAlgorithm: compressDeflate, NewlineOK: true}
}

func tinyDescriptor(createType string, capacity uint64) []byte {
	d := make([]byte, 512)
	copy(d, fmt.Sprintf("# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType=\"%s\"\nRW %d SPARSE \"t.vmdk\"\nddb.adapterType = \"ide\"\n", createType, capacity))
	return d
}

func sector(fill func([]byte)) []byte { b := make([]byte, 512); fill(b); return b }

func marker(val uint64, typ uint32) []byte {
	return sector(func(b []byte) { binary.LittleEndian.PutUint64(b, val); binary.LittleEndian.PutUint32(b[12:], typ) })
}

// tinyStream lays out a streamOptimized extent; atEnd picks VMware's layout,
// otherwise the directory and table precede the grains, as qemu-img does.
func tinyStream(data []byte, atEnd bool) []byte {
	capacity := uint64(len(data) / 512)
	var out bytes.Buffer
	gt := make([]byte, 512)
	grains := func(start uint64) {
		for g := 0; g*4096 < len(data); g++ {
			chunk := data[g*4096 : (g+1)*4096]
			if allZero(chunk) {
				continue
			}
			var z bytes.Buffer
			w, _ := zlib.NewWriterLevel(&z, 6)
			w.Write(chunk)
			w.Close()
			binary.LittleEndian.PutUint32(gt[g*4:], uint32(start+uint64(out.Len())/512))
			m := make([]byte, 12, 12+z.Len()+512)
			binary.LittleEndian.PutUint64(m, uint64(g*tinyGrainSectors))
			binary.LittleEndian.PutUint32(m[8:], uint32(z.Len()))
			m = append(m, z.Bytes()...)
			m = append(m, make([]byte, (512-len(m)%512)%512)...)
			out.Write(m)
		}
	}
	if atEnd {
		h := tinyHeader(capacity, streamFlags, gdAtEnd, 2)
		out.Write(h.marshal())
		out.Write(tinyDescriptor("streamOptimized", capacity))
		grains(0)
		out.Write(marker(1, markerGT))
		gtAt := out.Len() / 512
		out.Write(gt)
		out.Write(marker(1, markerGD))
		gdAt := out.Len() / 512
		out.Write(sector(func(b []byte) { binary.LittleEndian.PutUint32(b, uint32(gtAt)) }))
		out.Write(marker(1, markerFooter))
		h.GDOffset = uint64(gdAt)
		out.Write(h.marshal())
		out.Write(marker(0, markerEOS))
		return out.Bytes()
	}
	// Header, descriptor, directory (sector 2), table (sector 3), grains.
	h := tinyHeader(capacity, streamFlags|flagRedundantGT, 2, 4)
	body := bytes.Buffer{}
	out, body = body, out
	grains(4)
	out, body = body, out
	out.Write(h.marshal())
	out.Write(tinyDescriptor("streamOptimized", capacity))
	out.Write(sector(func(b []byte) { binary.LittleEndian.PutUint32(b, 3) }))
	out.Write(gt)
	out.Write(body.Bytes())
	out.Write(marker(0, markerEOS))
	return out.Bytes()
}

// tinySparse lays out an uncompressed hosted sparse extent (monolithicSparse).
func tinySparse(data []byte) []byte {
	capacity := uint64(len(data) / 512)
	h := tinyHeader(capacity, flagValidNewline, 2, 4)
	h.Version = 1
	h.CompressAlgorithm = compressNone
	var out bytes.Buffer
	out.Write(h.marshal())
	out.Write(tinyDescriptor("monolithicSparse", capacity))
	gt := make([]byte, 512)
	var grains bytes.Buffer
	for g := 0; g*4096 < len(data); g++ {
		chunk := data[g*4096 : (g+1)*4096]
		if allZero(chunk) {
			continue
		}
		binary.LittleEndian.PutUint32(gt[g*4:], uint32(4+grains.Len()/512))
		grains.Write(chunk)
	}
	out.Write(sector(func(b []byte) { binary.LittleEndian.PutUint32(b, 3) }))
	out.Write(gt)
	out.Write(grains.Bytes())
	return out.Bytes()
}

// TestTinySeedsRead: the hand-built seeds are valid, so the fuzzers start
// from inputs that reach deep into the readers.
func TestTinySeedsRead(t *testing.T) {
	data := make([]byte, 8*4096)
	copy(data[4096:], textBytes(60, 4096))
	copy(data[5*4096+100:], randomBytes(61, 3000))
	for i, s := range tinySeeds() {
		im, err := Open(bytes.NewReader(s), int64(len(s)))
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		got := make([]byte, len(data))
		if _, err := im.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("seed %d reads wrong (%v)", i, err)
		}
		if i < 2 {
			sr, err := NewStreamReader(bytes.NewReader(s))
			if err != nil {
				t.Fatalf("seed %d: %v", i, err)
			}
			if got, err := io.ReadAll(sr); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("seed %d streams wrong (%v)", i, err)
			}
			if got, _, err := decodeBytes(s, 2); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("seed %d decodes wrong (%v)", i, err)
			}
		}
	}
	if _, err := CheckStreamLayout(bytes.NewReader(tinySeeds()[0]), int64(len(tinySeeds()[0]))); err != nil {
		t.Fatalf("VMware-layout seed: %v", err)
	}
}

// TestWriteFuzzSeeds regenerates the checked-in corpus (opt-in).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("VMDK_WRITE_FUZZ_SEEDS") != "1" {
		t.Skip("set VMDK_WRITE_FUZZ_SEEDS=1 to regenerate testdata/fuzz")
	}
	write := func(target, name string, b []byte) {
		dir := filepath.Join("testdata", "fuzz", target)
		os.MkdirAll(dir, 0o755)
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"vmware-stream", "qemu-stream", "monolithic-sparse"}
	for i, s := range tinySeeds() {
		write("FuzzOpen", names[i], s)
		write("FuzzStreamReader", names[i], s)
	}
	// qcow2 seeds from qemu-img with 512-byte clusters (small files).
	qemu := qemuImg(t)
	dir := t.TempDir()
	raw := filepath.Join(dir, "d.raw")
	data := make([]byte, 16*1024)
	copy(data[1024:], textBytes(62, 3000))
	copy(data[9000:], randomBytes(63, 2000))
	os.WriteFile(raw, data, 0o644)
	for _, c := range []struct{ name, opts string }{{"v3", "compat=1.1"}, {"v2", "compat=0.10"}} {
		for _, compress := range []bool{false, true} {
			out := filepath.Join(dir, c.name+".qcow2")
			args := []string{"convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=512," + c.opts}
			if compress {
				args = append(args, "-c")
			}
			if b, err := exec.CommandContext(context.Background(), qemu, append(args, raw, out)...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			b, _ := os.ReadFile(out)
			name := "qemu-" + c.name
			if compress {
				name += "-compressed"
			}
			write("FuzzQCOW2", name, b)
		}
	}
	write("FuzzParseDescriptor", "split", nil)
	os.WriteFile(filepath.Join("testdata", "fuzz", "FuzzParseDescriptor", "split"),
		[]byte("go test fuzz v1\nstring(\"# Disk DescriptorFile\\nversion=1\\nCID=fffffffe\\nparentCID=ffffffff\\ncreateType=\\\"twoGbMaxExtentSparse\\\"\\nRW 4192256 SPARSE \\\"d-s001.vmdk\\\"\\nRW 10240 SPARSE \\\"d-s002.vmdk\\\"\\nddb.geometry.heads = \\\"16\\\"\\n\")\n"), 0o644)
}

// TestQCOW2Seeds: the checked-in qcow2 seeds decode to the data they were
// made from, so FuzzQCOW2 starts from real qemu-img output.
func TestQCOW2Seeds(t *testing.T) {
	data := make([]byte, 16*1024)
	copy(data[1024:], textBytes(62, 3000))
	copy(data[9000:], randomBytes(63, 2000))
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzQCOW2", "qemu-*"))
	if len(files) != 4 {
		t.Fatalf("%d qcow2 seeds, want 4", len(files))
	}
	for _, p := range files {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lit := strings.TrimSuffix(strings.TrimPrefix(string(raw), "go test fuzz v1\n[]byte("), ")\n")
		s, err := strconv.Unquote(lit)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		q, err := OpenQCOW2(strings.NewReader(s), int64(len(s)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		got := make([]byte, len(data))
		if _, err := q.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s reads wrong (%v)", p, err)
		}
	}
}
