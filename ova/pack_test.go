package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
)

// Disk sizes: one spanning several pooled buffers with a ragged tail (so
// padding is exercised), one smaller than a tar block.
var diskSizes = []int{9<<20 + 123, 700}

func pack(t testing.TB, o Options) *Result {
	t.Helper()
	res, err := Pack(context.Background(), o)
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return res
}

func TestPackHeaders(t *testing.T) {
	fx := newExport(t, diskSizes...)
	out := filepath.Join(t.TempDir(), "vm.ova")
	res := pack(t, Options{OVFPath: fx.ovf, Output: out})
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	wantMembers := []string{"vm.ovf", "vm.mf", "vm-disk-0.vmdk", "vm-disk-1.vmdk"}
	if fmt.Sprint(res.Members) != fmt.Sprint(wantMembers) {
		t.Errorf("Members = %q, want %q", res.Members, wantMembers)
	}
	if res.Size != int64(len(raw)) {
		t.Errorf("Result.Size = %d, file has %d bytes", res.Size, len(raw))
	}
	if !res.ReusedManifest {
		t.Error("export .mf in sha256 listing every disk was not reused")
	}

	// Walk the raw headers ourselves: archive/tar would hide a PAX header.
	var off int64
	var names []string
	for {
		h := raw[off : off+blockSize]
		if bytes.Equal(h, make([]byte, blockSize)) {
			break
		}
		name := string(bytes.TrimRight(h[0:100], "\x00"))
		names = append(names, name)
		if h[156] != '0' {
			t.Errorf("%s: typeflag %q, want '0' (never 'x'/'g' PAX headers)", name, h[156])
		}
		if string(h[257:265]) != "ustar\x0000" {
			t.Errorf("%s: magic+version %q, want USTAR", name, h[257:265])
		}
		if string(h[100:108]) != "0000644\x00" || string(h[108:116]) != "0000000\x00" || string(h[116:124]) != "0000000\x00" {
			t.Errorf("%s: mode/uid/gid = %q %q %q", name, h[100:108], h[108:116], h[116:124])
		}
		if !bytes.Equal(h[265:329], make([]byte, 64)) {
			t.Errorf("%s: uname/gname not empty: %q", name, h[265:329])
		}
		size, err := parseOctal(h[124:136])
		if err != nil {
			t.Fatalf("%s: size field: %v", name, err)
		}
		off += blockSize + size + padding(size)
	}
	if names[0] != "vm.ovf" || fmt.Sprint(names) != fmt.Sprint(wantMembers) {
		t.Errorf("raw header order %q, want %q", names, wantMembers)
	}
	if int64(len(raw)) != off+2*blockSize || !bytes.Equal(raw[off:], make([]byte, 2*blockSize)) {
		t.Errorf("archive does not end with exactly two zero blocks after the last member (len %d, end of members %d)", len(raw), off)
	}
	if len(raw)%blockSize != 0 {
		t.Errorf("archive length %d is not a multiple of 512", len(raw))
	}

	// Go's archive/tar: same order, USTAR format, exact contents.
	tr := tar.NewReader(bytes.NewReader(raw))
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			if i != len(wantMembers) {
				t.Errorf("archive/tar saw %d members, want %d", i, len(wantMembers))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != wantMembers[i] || h.Typeflag != tar.TypeReg || h.Mode != 0o644 || h.Uid != 0 || h.Gid != 0 || h.Format != tar.FormatUSTAR {
			t.Errorf("member %d: %+v", i, h)
		}
		if want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC); !h.ModTime.Equal(want) {
			t.Errorf("%s: mtime %v, want the file's own %v", h.Name, h.ModTime, want)
		}
		body, _ := io.ReadAll(tr)
		if src, ok := fx.data[h.Name]; ok && !bytes.Equal(body, src) {
			t.Errorf("%s: content differs from the source file", h.Name)
		}
	}

	// GNU tar, the reference implementation importers are tested against.
	gnutar := testenv.LookPath(t, "tar")
	cmd := exec.Command(gnutar, "-tvf", out)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	listing, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tvf: %v\n%s", err, listing)
	}
	lines := strings.Split(strings.TrimSpace(string(listing)), "\n")
	if len(lines) != len(wantMembers) {
		t.Fatalf("tar -tvf listed %d members:\n%s", len(lines), listing)
	}
	for i, l := range lines {
		f := strings.Fields(l)
		if f[0] != "-rw-r--r--" || f[1] != "0/0" || f[len(f)-1] != wantMembers[i] {
			t.Errorf("tar -tvf line %d = %q, want -rw-r--r-- 0/0 ... %s", i, l, wantMembers[i])
		}
	}
	if want := fmt.Sprint(len(fx.data["vm-disk-0.vmdk"])); strings.Fields(lines[2])[2] != want {
		t.Errorf("tar -tvf size of disk 0 = %s, want %s", strings.Fields(lines[2])[2], want)
	}
}

func parseOctal(b []byte) (int64, error) {
	var n int64
	s := strings.TrimRight(string(b), "\x00 ")
	_, err := fmt.Sscanf(s, "%o", &n)
	return n, err
}

// A member of 9 GiB needs GNU base-256 in the size field. Packing 9 GiB of
// data would take minutes, so the test writes our header for a 9 GiB member
// into a SPARSE archive file (header, 9 GiB hole, end blocks: a few KiB on
// disk) and has archive/tar and GNU tar, which both seek over the data,
// parse it back.
func TestHeaderBase256Size9GiB(t *testing.T) {
	const size = 9 << 30
	h, err := ustarHeader("big-disk.vmdk", size, 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	if h[124] != 0x80 {
		t.Fatalf("size field starts with %#x, want 0x80 (GNU base-256)", h[124])
	}
	if h[156] != '0' || string(h[257:265]) != "ustar\x0000" {
		t.Fatalf("typeflag %q magic %q", h[156], h[257:265])
	}
	// Just under the limit stays octal.
	if h2, _ := ustarHeader("x", maxOctalSize, 0); string(h2[124:136]) != "77777777777\x00" {
		t.Errorf("8 GiB - 1 size field = %q, want octal", h2[124:136])
	}
	p := filepath.Join(t.TempDir(), "sparse.ova")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(h[:]); err != nil {
		t.Fatal(err)
	}
	// Second member after the hole proves the reader found the right end.
	h2, _ := ustarHeader("after.txt", 3, 1700000000)
	if _, err := f.WriteAt(append(h2[:], "abc"...), blockSize+size); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(blockSize + size + 2*blockSize + 2*blockSize); err != nil {
		t.Fatal(err)
	}
	f.Close()

	rf, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	tr := tar.NewReader(rf)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Name != "big-disk.vmdk" || hdr.Size != size || hdr.Typeflag != tar.TypeReg {
		t.Fatalf("archive/tar read %+v, want big-disk.vmdk of %d bytes", hdr, int64(size))
	}
	if hdr, err = tr.Next(); err != nil || hdr.Name != "after.txt" {
		t.Fatalf("second member: %+v, %v", hdr, err)
	}

	gnutar := testenv.LookPath(t, "tar")
	outb, err := exec.Command(gnutar, "-tvf", p).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -tvf: %v\n%s", err, outb)
	}
	if !strings.Contains(string(outb), fmt.Sprint(int64(size))) || !strings.Contains(string(outb), "big-disk.vmdk") || !strings.Contains(string(outb), "after.txt") {
		t.Fatalf("tar -tvf output lacks the 9 GiB member:\n%s", outb)
	}

	// Archive indexes it too (the builder reads big OVAs this way).
	a, err := NewArchive(rf, blockSize+size+4*blockSize)
	if err == nil || !strings.Contains(err.Error(), "no .ovf") {
		t.Errorf("NewArchive without .ovf = %v", err)
	}
	_ = a
}

func TestHeaderRejectsLongNames(t *testing.T) {
	if _, err := ustarHeader(strings.Repeat("a", 100), 1, 0); err != nil {
		t.Errorf("100-byte name rejected: %v", err)
	}
	_, err := ustarHeader(strings.Repeat("a", 101), 1, 0)
	if err == nil || !strings.Contains(err.Error(), "100 bytes") || !strings.Contains(err.Error(), "rename") {
		t.Errorf("101-byte name: %v", err)
	}
}

func TestPackLongHrefLeavesNothing(t *testing.T) {
	fx := newExport(t, 10)
	long := strings.Repeat("d", 101) + ".vmdk"
	os.Rename(filepath.Join(fx.dir, fx.disks[0]), filepath.Join(fx.dir, long))
	desc := strings.Replace(string(fx.data["vm.ovf"]), fx.disks[0], long, 1)
	writeFile(t, fx.ovf, []byte(desc))
	os.Remove(fx.mf)
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), "100 bytes") {
		t.Fatalf("Pack with a 106-byte href: %v", err)
	}
	assertNoLeftovers(t, outDir)
}

func TestManifestAndChecksumFormats(t *testing.T) {
	sha256sum := testenv.LookPath(t, "sha256sum")
	sha512sum := testenv.LookPath(t, "sha512sum")
	for _, tc := range []struct {
		mfAlg, sumAlg, tool string
	}{
		{"", "", sha256sum},
		{"sha512", "sha512", sha512sum},
		{"sha1", "none", ""},
	} {
		t.Run(tc.mfAlg+"-"+tc.sumAlg, func(t *testing.T) {
			fx := newExport(t, diskSizes...)
			outDir := t.TempDir()
			out := filepath.Join(outDir, "vm.ova")
			var warnings []string
			res := pack(t, Options{OVFPath: fx.ovf, Output: out, ManifestAlgorithm: tc.mfAlg, ChecksumAlgorithm: tc.sumAlg,
				Logf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
			if tc.mfAlg != "" && (res.ReusedManifest || len(warnings) == 0 || !strings.Contains(warnings[0], "not reusing")) {
				t.Errorf("export .mf in SHA256 reused for a %s manifest (warnings %q)", tc.mfAlg, warnings)
			}
			a, err := OpenArchive(out)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			rc, _, err := a.Open("vm.mf")
			if err != nil {
				t.Fatal(err)
			}
			mf, _ := io.ReadAll(rc)
			alg := tc.mfAlg
			if alg == "" {
				alg = "sha256"
			}
			var want strings.Builder
			for _, name := range []string{"vm.ovf", "vm-disk-0.vmdk", "vm-disk-1.vmdk"} {
				fmt.Fprintf(&want, "%s(%s)= %s\n", strings.ToUpper(alg), name, digest(t, alg, fx.data[name]))
			}
			if string(mf) != want.String() {
				t.Errorf("manifest:\n%s\nwant:\n%s", mf, want.String())
			}

			whole, _ := os.ReadFile(out)
			if tc.tool == "" {
				if res.ChecksumPath != "" || res.DigestAlgorithm != "sha256" || res.Digest != sha256hex(whole) {
					t.Errorf("checksum none: %+v", res)
				}
				assertNoLeftovers(t, outDir, "vm.ova")
				return
			}
			sumAlg := tc.sumAlg
			if sumAlg == "" {
				sumAlg = "sha256"
			}
			if res.ChecksumPath != out+"."+sumAlg || res.Digest != digest(t, sumAlg, whole) {
				t.Errorf("Result %+v; want digest of the written file", res)
			}
			line, _ := os.ReadFile(res.ChecksumPath)
			if string(line) != res.Digest+"  vm.ova\n" {
				t.Errorf("checksum file %q, want coreutils format", line)
			}
			cmd := exec.Command(tc.tool, "-c", filepath.Base(res.ChecksumPath))
			cmd.Dir = outDir
			if outb, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(outb), "vm.ova: OK") {
				t.Errorf("%s -c: %v\n%s", tc.tool, err, outb)
			}
			assertNoLeftovers(t, outDir, "vm.ova", "vm.ova."+sumAlg)
		})
	}
}

func digest(t testing.TB, alg string, b []byte) string {
	switch alg {
	case "sha256":
		return sha256hex(b)
	case "sha512":
		s := sha512.Sum512(b)
		return hex.EncodeToString(s[:])
	case "sha1":
		cmd := exec.Command(testenv.LookPath(t, "sha1sum"))
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(out))[0]
	}
	t.Fatalf("alg %s", alg)
	return ""
}

// With and without the export's .mf (one read vs. two) must give the same
// bytes; with ModTime set, any file mtime change must not matter.
func TestReproducibleAndModesAgree(t *testing.T) {
	fx := newExport(t, diskSizes...)
	outDir := t.TempDir()
	a := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "a.ova"), ModTime: fixedTime()})
	if !a.ReusedManifest {
		t.Fatal("manifest not reused")
	}
	os.Remove(fx.mf)
	now := time.Now()
	for _, n := range append(fx.disks, "vm.ovf") {
		os.Chtimes(filepath.Join(fx.dir, n), now, now)
	}
	b := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "b.ova"), ModTime: fixedTime()})
	if b.ReusedManifest {
		t.Fatal("ReusedManifest without a .mf")
	}
	ab, _ := os.ReadFile(a.Path)
	bb, _ := os.ReadFile(b.Path)
	if !bytes.Equal(ab, bb) || a.Digest != b.Digest {
		t.Fatal("same inputs and ModTime gave different OVAs")
	}
	tr := tar.NewReader(bytes.NewReader(ab))
	h, _ := tr.Next()
	if !h.ModTime.Equal(*fixedTime()) {
		t.Errorf("mtime %v, want ModTime %v", h.ModTime, *fixedTime())
	}
}

func TestSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if ts, err := SourceDateEpoch(); ts != nil || err != nil {
		t.Errorf("unset: %v, %v", ts, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if ts, err := SourceDateEpoch(); err != nil || ts.Unix() != 1700000000 {
		t.Errorf("1700000000: %v, %v", ts, err)
	}
	for _, bad := range []string{"yesterday", "-5", "1.5"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if _, err := SourceDateEpoch(); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSizeFix(t *testing.T) {
	fx := newExport(t, diskSizes...)
	// The export declares a wrong size for disk 1; the export's .mf still
	// matches the on-disk descriptor, so the disks' digests are reused.
	declared := fmt.Sprintf(`ovf:size="%d"`, diskSizes[1])
	bad := strings.Replace(string(fx.data["vm.ovf"]), declared, `ovf:size="5"`, 1)
	writeFile(t, fx.ovf, []byte(bad))
	fx.data["vm.ovf"] = []byte(bad)
	fx.writeManifest(t)

	var warnings []string
	out := filepath.Join(t.TempDir(), "vm.ova")
	res := pack(t, Options{OVFPath: fx.ovf, Output: out, Logf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
	if len(res.SizeFixes) != 1 || res.SizeFixes[0] != (SizeFix{"vm-disk-1.vmdk", 5, int64(diskSizes[1])}) {
		t.Errorf("SizeFixes = %+v", res.SizeFixes)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"vm-disk-1.vmdk" was 5`) {
		t.Errorf("warnings = %q", warnings)
	}
	if !res.ReusedManifest {
		t.Error("disk digests not reused after a descriptor-only fix")
	}
	a, err := OpenArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// Descriptor() verifies the corrected bytes against the new manifest.
	d, err := a.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(bad, `ovf:size="5"`, declared, 1)
	if string(d.Bytes()) != want {
		t.Errorf("descriptor in the OVA:\n%s\nwant every byte but the size kept:\n%s", d.Bytes(), want)
	}
	mf, _ := a.Manifest()
	if e, _ := mf.Lookup("vm.ovf"); e.Digest != sha256hex([]byte(want)) {
		t.Error("manifest digest of the .ovf is not of the corrected bytes")
	}
}

func TestMissingFile(t *testing.T) {
	fx := newExport(t, diskSizes...)
	os.Remove(filepath.Join(fx.dir, "vm-disk-1.vmdk"))
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), `"vm-disk-1.vmdk"`) || !strings.Contains(err.Error(), fx.dir) {
		t.Fatalf("Pack with a missing disk: %v, want an error naming the href and folder", err)
	}
	assertNoLeftovers(t, outDir)
}

func TestRejectedHref(t *testing.T) {
	fx := newExport(t, 10)
	bad := strings.Replace(string(fx.data["vm.ovf"]), `ovf:href="vm-disk-0.vmdk"`, `ovf:href="../../etc/passwd"`, 1)
	writeFile(t, fx.ovf, []byte(bad))
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), "../../etc/passwd") || !strings.Contains(err.Error(), "vm.ovf") {
		t.Fatalf("Pack with href ../../etc/passwd: %v", err)
	}
	assertNoLeftovers(t, outDir)
}

func TestManifestMismatchLeavesNothing(t *testing.T) {
	fx := newExport(t, diskSizes...)
	// The disk changed after export: one byte differs from what the .mf says.
	p := filepath.Join(fx.dir, "vm-disk-0.vmdk")
	b := bytes.Clone(fx.data["vm-disk-0.vmdk"])
	b[len(b)/2] ^= 1
	writeFile(t, p, b)
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	want := []string{"vm-disk-0.vmdk", sha256hex(fx.data["vm-disk-0.vmdk"]), sha256hex(b), "expected", "actual"}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Fatalf("Pack with a tampered disk: %v; want it to contain %q", err, w)
		}
	}
	assertNoLeftovers(t, outDir)

	// A tampered descriptor is caught as well (before writing anything).
	fx = newExport(t, 10)
	writeFile(t, fx.ovf, append(fx.data["vm.ovf"], ' '))
	_, err = Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), "vm.ovf does not match") {
		t.Fatalf("tampered descriptor: %v", err)
	}
	assertNoLeftovers(t, outDir)
}

// recTracker records TrackProgress calls and how many bytes each bar was
// told about, through the reader Pack handed it.
type recTracker struct {
	mu    sync.Mutex
	srcs  []string
	bars  []*recBar
	start func() // optional: runs on the first report
}

type recBar struct {
	t      *recTracker
	stream io.ReadCloser
	bytes  int64
	reads  int
	closed bool
}

func (r *recTracker) TrackProgress(src string, cur, total int64, stream io.ReadCloser) io.ReadCloser {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.srcs = append(r.srcs, fmt.Sprintf("%s:%d", src, total))
	b := &recBar{t: r, stream: stream}
	r.bars = append(r.bars, b)
	return b
}

func (b *recBar) Read(p []byte) (int, error) {
	n, err := b.stream.Read(p)
	b.t.mu.Lock()
	b.bytes += int64(n)
	b.reads++
	start := b.t.start
	b.t.start = nil
	b.t.mu.Unlock()
	if start != nil {
		start()
	}
	return n, err
}

func (b *recBar) Close() error {
	b.t.mu.Lock()
	b.closed = true
	b.t.mu.Unlock()
	return b.stream.Close()
}

// Cancelling mid-copy (after the first chunk of a disk went to the sinks)
// leaves no OVA, no checksum file and no temporary file.
func TestCancelMidCopyLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		withMF bool
		chunk  int // cancel after this many chunks of disk 0 (both passes count)
	}{
		{"one pass, copying disk 0", true, 1},
		{"two passes, hashing disk 0", false, 1},
		{"two passes, copying disk 0", false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newExport(t, diskSizes...)
			if !tc.withMF {
				os.Remove(fx.mf)
			}
			outDir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var chunks, after int
			var mu sync.Mutex // disks are hashed in parallel
			testHookChunk = func(name string) {
				mu.Lock()
				defer mu.Unlock()
				if name != "vm-disk-0.vmdk" {
					return
				}
				if chunks++; chunks == tc.chunk {
					cancel()
				} else if chunks > tc.chunk {
					after++
				}
			}
			defer func() { testHookChunk = nil }()
			_, err := Pack(ctx, Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Pack after cancel: %v, want context.Canceled", err)
			}
			if chunks < tc.chunk {
				t.Fatalf("only %d chunks of disk 0 were read; the cancel never happened mid-copy", chunks)
			}
			if after > 0 {
				t.Errorf("%d chunks of disk 0 were read after the cancel", after)
			}
			assertNoLeftovers(t, outDir)
		})
	}
}

// Progress is reported per disk and pass, off the data path, and every bar
// ends on exactly the disk's size.
func TestProgressPerDiskExactToTheByte(t *testing.T) {
	fx := newExport(t, diskSizes...)
	tr := &recTracker{}
	pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Progress: tr})
	want := fmt.Sprintf("[vm-disk-0.vmdk:%d vm-disk-1.vmdk:%d]", diskSizes[0], diskSizes[1])
	if fmt.Sprint(tr.srcs) != want {
		t.Errorf("TrackProgress calls %v, want %s (one read per disk with the .mf)", tr.srcs, want)
	}
	for i, b := range tr.bars {
		if b.bytes != int64(diskSizes[i]) || !b.closed {
			t.Errorf("bar %s: reported %d bytes (closed %v), want exactly %d", tr.srcs[i], b.bytes, b.closed, diskSizes[i])
		}
		// The tracker sees a count, not the data: far fewer reads than the
		// copy's chunks (9 MiB in 4 MiB chunks would be 3).
		if b.reads > 2 {
			t.Errorf("bar %s: %d reads; progress is on the data path", tr.srcs[i], b.reads)
		}
	}
	os.Remove(fx.mf)
	tr = &recTracker{}
	pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Progress: tr})
	if len(tr.srcs) != 4 || !strings.HasPrefix(tr.srcs[0], "hashing ") && !strings.HasPrefix(tr.srcs[1], "hashing ") {
		t.Errorf("TrackProgress calls without .mf %v, want 4 (hash pass + copy pass)", tr.srcs)
	}
	for i, b := range tr.bars {
		name := strings.TrimPrefix(strings.Split(tr.srcs[i], ":")[0], "hashing ")
		if want := int64(len(fx.data[name])); b.bytes != want || !b.closed {
			t.Errorf("bar %s: reported %d bytes (closed %v), want exactly %d", tr.srcs[i], b.bytes, b.closed, want)
		}
	}
}

// A long copy reports progress while it runs, not only at the end.
func TestProgressWhileCopying(t *testing.T) {
	size := bufSize + 100 // two chunks: one reported while held, the rest at the end
	fx := newExport(t, size)
	tr := &recTracker{}
	reported := make(chan struct{})
	tr.start = func() { close(reported) }
	// Hold the copy after its first chunk until the meter has reported it.
	testHookChunk = func(string) {
		select {
		case <-reported:
		case <-time.After(5 * time.Second):
		}
	}
	defer func() { testHookChunk = nil }()
	pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Progress: tr})
	select {
	case <-reported:
	default:
		t.Fatal("no progress was reported while the copy was held")
	}
	if b := tr.bars[0]; b.bytes != int64(size) || b.reads < 2 {
		t.Errorf("bar: %d bytes in %d reads, want %d in a report during the copy and one at its end", b.bytes, b.reads, size)
	}
}

func TestForce(t *testing.T) {
	fx := newExport(t, 10)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "vm.ova")
	writeFile(t, out, []byte("old"))
	// Refused before reading anything: the descriptor does not even exist.
	_, err := Pack(context.Background(), Options{OVFPath: filepath.Join(fx.dir, "absent.ovf"), Output: out})
	if err == nil || !strings.Contains(err.Error(), "exists; set force = true or run packer with -force") {
		t.Fatalf("Pack over an existing OVA: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Fatal("existing OVA changed without force")
	}
	// A stale checksum file is also protected.
	os.Remove(out)
	writeFile(t, out+".sha256", []byte("old"))
	if _, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: out}); err == nil || !strings.Contains(err.Error(), ".sha256 exists") {
		t.Fatalf("Pack over an existing checksum file: %v", err)
	}
	writeFile(t, out, []byte("old"))
	res := pack(t, Options{OVFPath: fx.ovf, Output: out, Force: true})
	// Even with force, an input is never the output.
	if _, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(fx.dir, fx.disks[0]), Force: true}); err == nil || !strings.Contains(err.Error(), "is the input file") {
		t.Errorf("Pack onto its own disk: %v", err)
	}
	b, _ := os.ReadFile(out)
	if sha256hex(b) != res.Digest {
		t.Fatal("force did not replace the OVA")
	}
	assertNoLeftovers(t, outDir, "vm.ova", "vm.ova.sha256")
}

func TestOptionErrors(t *testing.T) {
	fx := newExport(t, 10)
	out := filepath.Join(t.TempDir(), "vm.ova")
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{OVFPath: fx.ovf, Output: out, ManifestAlgorithm: "md5"}, `manifest algorithm "md5"`},
		{Options{OVFPath: fx.ovf, Output: out, ChecksumAlgorithm: "sha1"}, `checksum algorithm "sha1"`},
		{Options{Output: out}, "no OVF descriptor"},
		{Options{OVFPath: fx.ovf}, "no output path"},
		{Options{OVFPath: fx.mf, Output: out}, "does not end in .ovf"},
		{Options{OVFPath: fx.ovf, Output: out, ExportManifest: filepath.Join(fx.dir, "nope.mf")}, "nope.mf"},
	} {
		if _, err := Pack(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Pack(%+v) = %v, want error containing %q", tc.o, err, tc.want)
		}
	}
}

func TestExportManifestOption(t *testing.T) {
	fx := newExport(t, diskSizes...)
	other := filepath.Join(t.TempDir(), "elsewhere.mf")
	if err := os.Rename(fx.mf, other); err != nil {
		t.Fatal(err)
	}
	res := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), ExportManifest: other})
	if !res.ReusedManifest {
		t.Error("explicit ExportManifest not reused")
	}
	// A manifest that misses a disk is ignored with a warning.
	mf, _ := os.ReadFile(other)
	lines := strings.SplitAfter(string(mf), "\n")
	writeFile(t, fx.mf, []byte(lines[0]+lines[1]))
	var warnings []string
	res = pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Logf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
	if res.ReusedManifest || len(warnings) != 1 || !strings.Contains(warnings[0], `does not list "vm-disk-1.vmdk"`) {
		t.Errorf("incomplete .mf: reused=%v warnings=%q", res.ReusedManifest, warnings)
	}
}

func TestSHA512Digest(t *testing.T) {
	fx := newExport(t, 10)
	res := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), ChecksumAlgorithm: "sha512"})
	if !regexp.MustCompile(`^[0-9a-f]{128}$`).MatchString(res.Digest) || res.DigestAlgorithm != "sha512" {
		t.Errorf("sha512 digest %q (%s)", res.Digest, res.DigestAlgorithm)
	}
}
