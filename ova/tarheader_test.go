package ova

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

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
