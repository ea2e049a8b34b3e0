package ova

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// streamFile is one member a test streams: its name and data.
type streamFile struct {
	name string
	data []byte
}

// streamFiles makes one incompressible file per size: disks, then an NVRAM.
func streamFiles(sizes ...int) []streamFile {
	rng := rand.NewChaCha8([32]byte{byte(len(sizes)), 7})
	var fs []streamFile
	for i, n := range sizes {
		b := make([]byte, n)
		rng.Read(b)
		fs = append(fs, streamFile{name: fmt.Sprintf("vm-disk-%d.vmdk", i), data: b})
	}
	return append(fs, streamFile{name: "vm-file1.nvram", data: []byte("nvram bytes")})
}

// streamDescriptor references files in order with their sizes (size < 0:
// the size stated is that value instead of the real one).
func streamDescriptor(fs []streamFile, size func(i int) int64) []byte {
	var refs strings.Builder
	for i, f := range fs {
		fmt.Fprintf(&refs, "    <File ovf:href=\"%s\" ovf:id=\"file%d\" ovf:size=\"%d\"/>\n", f.name, i+1, size(i))
	}
	return []byte(fmt.Sprintf(exportOVF, refs.String()))
}

// writeStream streams fs into dir/vm.ova, alternating Write and Copy.
func writeStream(t *testing.T, dir string, o StreamOptions, fs []streamFile, desc []byte) (*StreamResult, error) {
	t.Helper()
	s, err := CreateStream(filepath.Join(dir, "vm.ova"), o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Abort()
	for i, f := range fs {
		m, err := s.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			_, err = m.Copy(context.Background(), bytes.NewReader(f.data))
		} else {
			_, err = m.Write(f.data)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return s.Finish(context.Background(), desc)
}

func realSizes(fs []streamFile) func(int) int64 {
	return func(i int) int64 { return int64(len(fs[i].data)) }
}

// Several disks (one empty, one of exactly a block, one not a multiple of
// one) and an NVRAM come back from our reader, member by member and
// verified against the manifest, in References order behind .ovf and .mf.
func TestStreamReadBack(t *testing.T) {
	dir := t.TempDir()
	fs := streamFiles(300_001, 0, 512, 70_000)
	desc := streamDescriptor(fs, realSizes(fs))
	res, err := writeStream(t, dir, StreamOptions{Name: "vm", Manifest: "sha256", Checksum: "sha256"}, fs, desc)
	if err != nil {
		t.Fatal(err)
	}
	if res.Relocated {
		t.Error("a small descriptor was relocated")
	}
	a, err := OpenArchive(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want := []string{"vm.ovf", "vm.mf"}
	for _, f := range fs {
		want = append(want, f.name)
	}
	var got []string
	for _, m := range a.Members() {
		got = append(got, m.Name)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || strings.Join(res.Members, ",") != strings.Join(want, ",") {
		t.Fatalf("members %q (result %q), want %q", got, res.Members, want)
	}
	d, err := a.Descriptor() // verified against the .mf
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files()) != len(fs) {
		t.Fatalf("descriptor files %+v", d.Files())
	}
	raw, _ := a.DescriptorBytes()
	if !bytes.HasPrefix(raw, desc) || strings.TrimSpace(string(raw[len(desc):])) != "" {
		t.Fatalf("descriptor member is not the descriptor plus whitespace")
	}
	if _, err := govmomiovf.Unmarshal(bytes.NewReader(raw)); err != nil {
		t.Fatalf("govmomi ovf.Unmarshal of the padded descriptor: %v", err)
	}
	for _, f := range fs {
		rc, _, err := a.Open(f.name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // a digest mismatch errors here
		rc.Close()
		if err != nil || !bytes.Equal(b, f.data) {
			t.Fatalf("%s: %d bytes back, %v", f.name, len(b), err)
		}
	}
	if mf, _ := a.Manifest(); mf == nil || len(mf.Entries) != len(fs)+1 {
		t.Fatalf("manifest %+v", mf)
	}
	st, err := os.Stat(res.Path)
	if err != nil || st.Size() != res.Size || st.Size()%blockSize != 0 {
		t.Fatalf("OVA size %v (%v), result says %d", st, err, res.Size)
	}
	// The last member (padded to a block), then the two zero blocks that end
	// a tar archive, then nothing.
	last := a.Members()[len(a.Members())-1]
	if end := last.Offset + last.Size + padding(last.Size); st.Size() != end+2*blockSize {
		t.Errorf("OVA is %d bytes, want %d: the last member ends at %d", st.Size(), end+2*blockSize, end)
	}
	raw2, _ := os.ReadFile(res.Path)
	if !bytes.Equal(raw2[len(raw2)-2*blockSize:], make([]byte, 2*blockSize)) {
		t.Error("the OVA does not end with two zero blocks")
	}
	assertNoLeftovers(t, dir, "vm.ova", "vm.ova.sha256")
}

// GNU tar lists and extracts the OVA; sha256sum -c accepts its .mf and the
// checksum file beside it.
func TestStreamGNUTar(t *testing.T) {
	tar := testenv.LookPath(t, "tar")
	sum := testenv.LookPath(t, "sha256sum")
	dir := t.TempDir()
	fs := streamFiles(100_000, 0, 4096)
	res, err := writeStream(t, dir, StreamOptions{Name: "vm", Manifest: "sha256", Checksum: "sha256"}, fs, streamDescriptor(fs, realSizes(fs)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tar, "-tvf", res.Path).CombinedOutput()
	if err != nil || strings.Contains(string(out), "warning") {
		t.Fatalf("tar -tvf: %v\n%s", err, out)
	}
	x := t.TempDir()
	if out, err := exec.Command(tar, "-xf", res.Path, "-C", x).CombinedOutput(); err != nil {
		t.Fatalf("tar -xf: %v\n%s", err, out)
	}
	c := exec.Command(sum, "-c", "--strict", "vm.mf")
	c.Dir = x
	if out, err := c.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != len(fs)+1 {
		t.Fatalf("sha256sum -c vm.mf: %v\n%s", err, out)
	}
	c = exec.Command(sum, "-c", "--strict", filepath.Base(res.ChecksumPath))
	c.Dir = dir
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c %s: %v\n%s", res.ChecksumPath, err, out)
	}
}

// A descriptor larger than the reserved head still makes a valid OVA (one
// copy of the disks), and manifest and checksum "none" leave out the .mf and
// the checksum file.
func TestStreamRelocatesAndNone(t *testing.T) {
	dir := t.TempDir()
	fs := streamFiles(20_000, 513)
	res, err := writeStream(t, dir, StreamOptions{Name: "vm", Manifest: "none", Checksum: "none", HeadReserve: 1024}, fs, streamDescriptor(fs, realSizes(fs)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Relocated || res.ChecksumPath != "" {
		t.Fatalf("Relocated %v, ChecksumPath %q", res.Relocated, res.ChecksumPath)
	}
	a, err := OpenArchive(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if mf, _ := a.Manifest(); mf != nil || len(a.Members()) != len(fs)+1 {
		t.Fatalf("members %+v, manifest %+v", a.Members(), mf)
	}
	for _, f := range fs {
		rc, _, _ := a.Open(f.name)
		b, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(b, f.data) {
			t.Fatalf("%s after relocation: %d bytes, %v", f.name, len(b), err)
		}
	}
	if _, err := os.Stat(res.Path + ".sha256"); !os.IsNotExist(err) {
		t.Fatalf("checksum none wrote a checksum file: %v", err)
	}
	assertNoLeftovers(t, dir, "vm.ova")
}

// A descriptor that disagrees with what was written (a huge ovf:size, a
// file written but not referenced, one referenced but not written) is
// refused with what differs, and nothing is published.
func TestStreamRefusesWrongDescriptor(t *testing.T) {
	fs := streamFiles(1000, 2000)
	withISO := append(slices.Clone(fs), streamFile{name: "vm.iso"})
	for name, c := range map[string]struct {
		desc []byte
		want string
	}{
		"huge size":      {streamDescriptor(fs, func(i int) int64 { return 1<<63 - 1 }), "ovf:size=9223372036854775807 but 1000 bytes"},
		"not referenced": {streamDescriptor(fs[:2], realSizes(fs)), `["vm-file1.nvram"] written but not referenced`},
		"not written":    {streamDescriptor(withISO, realSizes(withISO)), "references vm.iso, which was not written"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := writeStream(t, dir, StreamOptions{Name: "vm", Manifest: "sha256", Checksum: "sha256"}, fs, c.desc)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			assertEmpty(t, dir)
		})
	}
}

// A descriptor that references the files in another order than they were
// written (as an exporter's descriptor may) gets its order in the OVA, at
// the cost of one copy.
func TestStreamReorders(t *testing.T) {
	dir := t.TempDir()
	fs := streamFiles(3000, 700)
	order := []streamFile{fs[2], fs[0], fs[1]}
	res, err := writeStream(t, dir, StreamOptions{Name: "vm", Manifest: "sha256", Checksum: "sha256"}, fs, streamDescriptor(order, realSizes(order)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Relocated {
		t.Error("Relocated = false")
	}
	a, err := OpenArchive(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	want := []string{"vm.ovf", "vm.mf", order[0].name, order[1].name, order[2].name}
	var got []string
	for _, m := range a.Members() {
		got = append(got, m.Name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") || strings.Join(res.Members, " ") != strings.Join(want, " ") {
		t.Fatalf("members %q (result %q), want %q", got, res.Members, want)
	}
	for _, f := range fs {
		rc, _, _ := a.Open(f.name)
		b, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(b, f.data) {
			t.Fatalf("%s after reordering: %d bytes, %v", f.name, len(b), err)
		}
	}
	if _, err := a.Descriptor(); err != nil {
		t.Fatal(err)
	}
	assertNoLeftovers(t, dir, "vm.ova", "vm.ova.sha256")
}

// A cancel in the middle of a disk, and a cancelled Finish, leave nothing.
func TestStreamCancelLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	s, err := CreateStream(filepath.Join(dir, "vm.ova"), StreamOptions{Name: "vm", Manifest: "sha256", Checksum: "sha256"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m, err := s.Create("vm-disk-0.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	r := &cancelAfter{n: 3 << 20, cancel: cancel}
	if _, err := m.Copy(ctx, r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy after cancel: %v", err)
	}
	s.Abort()
	assertEmpty(t, dir)

	// With and without the checksum pass, which also stops on a cancel.
	for _, sum := range []string{"sha256", "none"} {
		fs := streamFiles(10)
		s, err = CreateStream(filepath.Join(dir, "vm.ova"), StreamOptions{Name: "vm", Manifest: "sha256", Checksum: sum})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			m, _ := s.Create(f.name)
			m.Write(f.data)
			m.Close()
		}
		if _, err := s.Finish(ctx, streamDescriptor(fs, realSizes(fs))); !errors.Is(err, context.Canceled) {
			t.Fatalf("Finish with a cancelled context (checksum %s): %v", sum, err)
		}
		assertEmpty(t, dir)
	}
}

// cancelAfter yields zeros and cancels once n bytes were read.
type cancelAfter struct {
	n      int
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	c.n -= len(p)
	clear(p)
	return len(p), nil
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) > 0 {
		t.Fatalf("%s holds %v (%v), want nothing", dir, ents, err)
	}
}
