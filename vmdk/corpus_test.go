package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zlib"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// corpusShape is a sparse raw disk: its size and the data written into it.
// The data is small (a few KiB per chunk) so that even the 2 GiB+ shape
// converts and compares in seconds.
type corpusShape struct {
	name   string
	size   int64
	chunks map[int64][]byte
}

func corpusShapes() []corpusShape {
	text := func(seed uint64) []byte { return textBytes(seed, 3000) }
	rnd := func(seed uint64) []byte { return randomBytes(seed, 5000) }
	return []corpusShape{
		{"empty-1MiB", mib, nil},
		{"data-1MiB", mib, map[int64][]byte{4096: text(1), 300 << 10: rnd(2)}},
		{"start-only-64MiB", 64 * mib, map[int64][]byte{0: text(3), 9000: rnd(4)}},
		{"to-last-grain-8MiB", 8 * mib, map[int64][]byte{0: text(5), 8*mib - 3000: text(6)}},
		{"mid-disk-64MiB-ends-23MiB", 64 * mib, map[int64][]byte{0: text(7), 7 * mib: rnd(8), 22 * mib: randomBytes(9, int(mib))}},
		{"mid-disk-64MiB-640KiB", 64 * mib, map[int64][]byte{0: text(18), 22 * mib: randomBytes(19, 640<<10)}},
		{"mid-disk-8MiB-ends-4KiB", 8 * mib, map[int64][]byte{4096: text(10)}},
		{"odd-sectors", mib + 3*512, map[int64][]byte{100: text(11), mib + 512: rnd(12)[:1000]}},
		{"odd-bytes", mib + 1000, map[int64][]byte{mib: text(13)[:1000]}},
		{"odd-grain-tail", 5*GrainSize + 7*512, map[int64][]byte{5 * GrainSize: rnd(14)[:3584]}},
		{"sparse-2GiB+", 2<<30 + GrainSize, map[int64][]byte{0: text(15), 1 << 30: rnd(16), 2<<30 + GrainSize - 3000: text(17)}},
	}
}

// corpusWriters are the real stream writers installed here: each turns a
// raw file into a streamOptimized VMDK.
func corpusWriters(t *testing.T) map[string]func(raw, out string) {
	qemu := qemuImg(t)
	py := requireVMDKstream(t)
	return map[string]func(raw, out string){
		"qemu-img": func(raw, out string) {
			run(t, qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, out)
		},
		"vmdkstream": func(raw, out string) {
			run(t, py, "-c", "import sys, VMDKstream; VMDKstream.convert_to_stream(sys.argv[1], sys.argv[2])", raw, out)
		},
	}
}

// TestForeignStreamCorpus: every shape, as each real writer streams it,
// decodes through Read and DecodeTo to the disk qemu-img reads from it.
func TestForeignStreamCorpus(t *testing.T) {
	writers := corpusWriters(t)
	qemu := qemuImg(t)
	for _, sh := range corpusShapes() {
		for _, wname := range []string{"qemu-img", "vmdkstream"} {
			if wname == "vmdkstream" && sh.size > 1<<30 {
				continue // VMDKstream reads every byte of the raw disk: 18 s for 2 GiB
			}
			t.Run(wname+"/"+sh.name, func(t *testing.T) {
				dir := t.TempDir()
				raw := filepath.Join(dir, "in.raw")
				sparseFile(t, raw, sh.size, sh.chunks)
				v := filepath.Join(dir, "d.vmdk")
				writers[wname](raw, v)
				want := filepath.Join(dir, "want.raw")
				out, err := exec.Command(qemu, "convert", "-f", "vmdk", "-O", "raw", v, want).CombinedOutput()
				if err != nil && wname == "vmdkstream" && sh.size%SectorSize != 0 {
					// VMDKstream's last grain inflates short of its last
					// sector; qemu-img refuses to read it, so the input is
					// the reference.
					t.Logf("qemu-img cannot read it (%v: %s): comparing with the input", err, out)
					want = raw
				} else if err != nil {
					t.Fatalf("qemu-img convert -O raw: %v\n%s", err, out)
				}
				checkCorpusStream(t, v, want)
			})
		}
	}
}

// checkCorpusStream decodes the VMDK at v with Read and with DecodeTo and
// compares both with the raw file want.
func checkCorpusStream(t *testing.T, v, want string) {
	t.Helper()
	f, err := os.Open(v)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		t.Logf("%d-byte stream", fi.Size())
	}
	sr, err := NewStreamReader(f)
	if err != nil {
		t.Fatalf("NewStreamReader: %v", err)
	}
	streamMatches(t, sr, want)

	if _, err := f.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	sr, err = NewStreamReader(f)
	if err != nil {
		t.Fatalf("NewStreamReader: %v", err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "decoded.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := out.Truncate(sr.Size()); err != nil {
		t.Fatal(err)
	}
	if _, err := sr.DecodeTo(context.Background(), out, DecodeOptions{Workers: 2}); err != nil {
		t.Fatalf("DecodeTo: %v", err)
	}
	sameDisk(t, out, sr.Size(), want)
}

// corpusSeeds streams the small shapes with each real writer found, for
// the fuzzers' seeds (generated, not checked in: qemu-img's are 64 KiB and
// more, mostly zeros). None under -short or without the writers.
func corpusSeeds(tb testing.TB) [][]byte {
	qemu, qerr := exec.LookPath("qemu-img")
	if !testenv.Allows(testenv.RealProgram) || qerr != nil {
		return nil
	}
	writers := [][]string{{qemu, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized"}}
	if exec.Command("/usr/bin/python3", "-c", "import VMDKstream").Run() == nil {
		writers = append(writers, []string{"/usr/bin/python3", "-c", "import sys, VMDKstream; VMDKstream.convert_to_stream(sys.argv[1], sys.argv[2])"})
	}
	dir := tb.TempDir()
	var seeds [][]byte
	for i, sh := range corpusShapes() {
		if sh.size > 2*mib {
			continue
		}
		raw := filepath.Join(dir, fmt.Sprintf("%d.raw", i))
		sparseFile(tb, raw, sh.size, sh.chunks)
		for j, w := range writers {
			v := filepath.Join(dir, fmt.Sprintf("%d-%d.vmdk", i, j))
			if out, err := exec.Command(w[0], append(w[1:], raw, v)...).CombinedOutput(); err != nil {
				tb.Fatalf("%s for seed %s: %v\n%s", w[0], sh.name, err, out)
			}
			b, err := os.ReadFile(v)
			if err != nil {
				tb.Fatal(err)
			}
			seeds = append(seeds, b)
		}
	}
	return seeds
}

// TestStreamEnds: the header decides how a stream must end. A stream whose
// directory is in front (qemu-img) may stop after any whole grain or
// marker, or end in zero sectors; one whose directory is at the end must
// close with a footer and an end-of-stream marker, even when its last
// grain holds the disk's last byte. Cuts inside a grain or marker are
// refused by Read and DecodeTo alike.
func TestStreamEnds(t *testing.T) {
	data := make([]byte, 8*4096)
	copy(data[4096:], textBytes(64, 4096))
	copy(data[7*4096+10:], randomBytes(65, 3000)) // the last grain
	front, atEnd := tinyStream(data, false), tinyStream(data, true)
	eos := len(front) - SectorSize // qemu-img writes none: drop it
	zeros := make([]byte, 3*SectorSize)
	cases := []struct {
		name string
		b    []byte
		want string // "" for a stream that decodes to data
	}{
		{"front: end-of-stream marker", front, ""},
		{"front: ends after its last grain", front[:eos], ""},
		{"front: ends in zero sectors", slices.Concat(front[:eos], zeros), ""},
		{"front: marker then zeros", slices.Concat(front, zeros), ""},
		{"front: cut inside the last grain", front[:eos-SectorSize], "inside a grain or marker"},
		{"front: cut inside the last sector", front[:eos-100], "inside a grain or marker"},
		{"front: cut inside the end-of-stream marker", front[:eos+100], "inside a grain or marker"},
		{"end: whole", atEnd, ""},
		{"end: cut after the last grain", atEnd[:len(atEnd)-7*SectorSize], "before its footer and end-of-stream marker"},
		{"end: no end-of-stream marker", atEnd[:len(atEnd)-SectorSize], "before its footer and end-of-stream marker"},
		{"end: cut inside the end-of-stream marker", atEnd[:len(atEnd)-100], "before its footer"},
		{"end: no footer", slices.Concat(atEnd[:len(atEnd)-3*SectorSize], atEnd[len(atEnd)-SectorSize:]), "without the footer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readBytes(c.b)
			if c.want == "" {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("Read: %v (same disk: %v)", err, bytes.Equal(got, data))
				}
			} else if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Read: %v, want an error containing %q", err, c.want)
			}
			decodesLikeRead(t, c.b)
		})
	}
}

// openVMDKStream lays data out as open-vmdk's vmdk-convert does (not
// installable here; vmware/open-vmdk vmdk/sparse.c at 372f2494,
// StreamOptimized_Create and StreamOptimizedClose): header with the
// directory's real offset, a
// 20-sector descriptor at sector 1, the directory and every table right
// after it without markers (overHead ends them), the grains, one
// end-of-stream marker; no footer.
func openVMDKStream(data []byte) []byte {
	capacity := uint64(len(data)+SectorSize-1) / SectorSize
	grains := (capacity + grainSectors - 1) / grainSectors
	tables := (grains + gtesPerGT - 1) / gtesPerGT
	gdSectors := (tables*4 + SectorSize - 1) / SectorSize
	gtSectors := uint64(gtesPerGT * 4 / SectorSize)
	overhead := 1 + 20 + gdSectors + tables*gtSectors
	h := Header{Version: 3, Flags: streamFlags, Capacity: capacity, GrainSize: grainSectors,
		DescriptorOffset: 1, DescriptorSize: 20, NumGTEsPerGT: gtesPerGT, GDOffset: 21, OverHead: overhead,
		CompressAlgorithm: compressDeflate, NewlineOK: true}
	meta := make([]byte, (20+gdSectors+tables*gtSectors)*SectorSize)
	copy(meta, tinyDescriptor("streamOptimized", capacity))
	gd, gt := meta[20*SectorSize:], meta[(20+gdSectors)*SectorSize:]
	for i := range tables {
		binary.LittleEndian.PutUint32(gd[4*i:], uint32(21+gdSectors+i*gtSectors))
	}
	var body bytes.Buffer
	for g := uint64(0); g < grains; g++ {
		chunk := data[g*GrainSize : min((g+1)*GrainSize, uint64(len(data)))]
		if allZero(chunk) {
			continue
		}
		binary.LittleEndian.PutUint32(gt[4*g:], uint32(overhead+uint64(body.Len())/SectorSize))
		var z bytes.Buffer
		w, _ := zlib.NewWriterLevel(&z, 9)
		w.Write(chunk)
		w.Close()
		m := binary.LittleEndian.AppendUint64(nil, g*grainSectors)
		m = binary.LittleEndian.AppendUint32(m, uint32(z.Len()))
		m = append(m, z.Bytes()...)
		body.Write(append(m, make([]byte, (SectorSize-len(m)%SectorSize)%SectorSize)...))
	}
	return slices.Concat(h.marshal(), meta, body.Bytes(), marker(0, markerEOS))
}

// TestOpenVMDKLayout: open-vmdk's layout (directory in front, no footer,
// end-of-stream marker) decodes through Read, DecodeTo and Open.
func TestOpenVMDKLayout(t *testing.T) {
	data := make([]byte, 3*GrainSize+1024)
	copy(data[100:], textBytes(66, 5000))
	copy(data[3*GrainSize:], randomBytes(67, 1024))
	b := openVMDKStream(data)
	got, err := readBytes(b)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Read: %v (same disk: %v)", err, bytes.Equal(got, data))
	}
	decodesLikeRead(t, b)
	im, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	got = make([]byte, len(data))
	if _, err := im.ReadAt(got, 0); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Open reads wrong (%v)", err)
	}
}
