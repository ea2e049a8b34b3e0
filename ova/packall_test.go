package ova

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// withoutFile returns the descriptor with the References/File line of href
// removed, as a target-specific edit would leave it.
func withoutFile(t *testing.T, desc []byte, href string) []byte {
	t.Helper()
	var out []string
	for _, l := range strings.SplitAfter(string(desc), "\n") {
		if !strings.Contains(l, `ovf:href="`+href+`"`) {
			out = append(out, l)
		}
	}
	if len(strings.Join(out, "")) == len(desc) {
		t.Fatalf("no File line for %s", href)
	}
	return []byte(strings.Join(out, ""))
}

// countChunks counts the pooled chunks read of each file while f runs.
func countChunks(f func()) map[string]int {
	n := map[string]int{}
	var mu sync.Mutex // disks are hashed in parallel
	testHookChunk = func(name string) { mu.Lock(); n[name]++; mu.Unlock() }
	defer func() { testHookChunk = nil }()
	f()
	return n
}

// Three OVAs from one read of the disks: the export as it is, one without
// disk 1, one with an edited descriptor. Each is a complete, verifiable OVA
// with its own descriptor and manifest.
func TestPackAllTargets(t *testing.T) {
	sha256sum := testenv.LookPath(t, "sha256sum")
	fx := newExport(t, diskSizes...)
	edited := bytes.Replace(fx.data["vm.ovf"], []byte("<Name>vm</Name>"), []byte("<Name>vm-workstation</Name>"), 1)
	noDisk1 := withoutFile(t, fx.data["vm.ovf"], "vm-disk-1.vmdk")
	outs := []Output{
		{Path: filepath.Join(t.TempDir(), "vsphere.ova")},
		{Path: filepath.Join(t.TempDir(), "virtualbox.ova"), Descriptor: noDisk1, Drop: []string{"vm-disk-1.vmdk"}},
		{Path: filepath.Join(t.TempDir(), "workstation.ova"), Descriptor: edited},
	}
	wantDesc := [][]byte{fx.data["vm.ovf"], noDisk1, edited}
	wantDisks := [][]string{fx.disks, fx.disks[:1], fx.disks}

	for _, withMF := range []bool{true, false} {
		t.Run(fmt.Sprintf("export mf %v", withMF), func(t *testing.T) {
			if !withMF {
				os.Remove(fx.mf)
			}
			for _, o := range outs {
				os.Remove(o.Path)
				os.Remove(o.Path + ".sha256")
			}
			var rs []*Result
			chunks := countChunks(func() {
				var err error
				rs, err = PackAll(context.Background(), Options{OVFPath: fx.ovf, Outputs: outs, ModTime: fixedTime()})
				if err != nil {
					t.Fatalf("PackAll: %v", err)
				}
			})
			passes := 1
			if !withMF {
				passes = 2 // hash, then copy
			}
			for _, d := range fx.disks {
				size := int64(len(fx.data[d]))
				if want := passes * int((size+int64(bufSize)-1)/int64(bufSize)); chunks[d] != want {
					t.Errorf("%s read in %d chunks, want %d (%d pass(es) for all outputs)", d, chunks[d], want, passes)
				}
			}
			for i, r := range rs {
				checkTarget(t, r, outs[i].Path, wantDesc[i], wantDisks[i], fx, sha256sum)
				if r.ReusedManifest != withMF {
					t.Errorf("%s: ReusedManifest %v", r.Path, r.ReusedManifest)
				}
			}
		})
	}

	// The first output is the export as it is: the same bytes as Pack's.
	one := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "one.ova"), ModTime: fixedTime()})
	a, _ := os.ReadFile(one.Path)
	b, _ := os.ReadFile(outs[0].Path)
	if !bytes.Equal(a, b) {
		t.Error("PackAll's first output differs from Pack's OVA of the same export")
	}
}

func checkTarget(t *testing.T, r *Result, path string, desc []byte, disks []string, fx *fixture, sha256sum string) {
	t.Helper()
	if r.Path != path {
		t.Fatalf("result for %s, want %s", r.Path, path)
	}
	wantMembers := append([]string{"vm.ovf", "vm.mf"}, disks...)
	if fmt.Sprint(r.Members) != fmt.Sprint(wantMembers) {
		t.Errorf("%s: members %q, want %q", path, r.Members, wantMembers)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if sha256hex(raw) != r.Digest || int64(len(raw)) != r.Size {
		t.Errorf("%s: Result digest/size do not match the file", path)
	}
	a, err := OpenArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var names []string
	for _, m := range a.Members() {
		names = append(names, m.Name)
		rc, _, err := a.Open(m.Name) // verified against the OVA's manifest
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Errorf("%s: %s: %v", path, m.Name, err)
		}
		switch {
		case m.Name == "vm.ovf" && !bytes.Equal(body, desc):
			t.Errorf("%s: descriptor is not the one given for this output", path)
		case strings.HasSuffix(m.Name, ".vmdk") && !bytes.Equal(body, fx.data[m.Name]):
			t.Errorf("%s: %s differs from the export's", path, m.Name)
		}
	}
	if fmt.Sprint(names) != fmt.Sprint(wantMembers) {
		t.Errorf("%s: archive holds %q, want %q", path, names, wantMembers)
	}
	mf, _ := a.Manifest()
	if len(mf.Entries) != len(wantMembers)-1 {
		t.Errorf("%s: manifest lists %d files, want %d", path, len(mf.Entries), len(wantMembers)-1)
	}
	cmd := exec.Command(sha256sum, "-c", filepath.Base(r.ChecksumPath))
	cmd.Dir = filepath.Dir(path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s -c: %v\n%s", sha256sum, err, out)
	}
}

// A disk that does not match the export's manifest fails every output, and
// none of them, nor any checksum or temporary file, appears.
func TestPackAllAllOrNothing(t *testing.T) {
	fx := newExport(t, diskSizes...)
	b := bytes.Clone(fx.data["vm-disk-1.vmdk"])
	b[0] ^= 1
	writeFile(t, filepath.Join(fx.dir, "vm-disk-1.vmdk"), b)
	dirs := []string{t.TempDir(), t.TempDir()}
	_, err := PackAll(context.Background(), Options{OVFPath: fx.ovf, Outputs: []Output{
		// The first output leaves the bad disk out, and still must not appear.
		{Path: filepath.Join(dirs[0], "a.ova"), Descriptor: withoutFile(t, fx.data["vm.ovf"], "vm-disk-1.vmdk"), Drop: []string{"vm-disk-1.vmdk"}},
		{Path: filepath.Join(dirs[1], "b.ova")},
	}})
	if err == nil || !strings.Contains(err.Error(), "vm-disk-1.vmdk does not match the export's manifest") {
		t.Fatalf("PackAll with a damaged disk: %v", err)
	}
	for _, d := range dirs {
		assertNoLeftovers(t, d)
	}
}

func TestPackAllErrors(t *testing.T) {
	fx := newExport(t, diskSizes...)
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	desc := fx.data["vm.ovf"]
	swapped := bytes.Replace(bytes.Replace(desc, []byte("vm-disk-0.vmdk"), []byte("SWAP"), 1), []byte("vm-disk-1.vmdk"), []byte("vm-disk-0.vmdk"), 1)
	swapped = bytes.Replace(swapped, []byte("SWAP"), []byte("vm-disk-1.vmdk"), 1)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"still references a dropped file", Options{Outputs: []Output{{Path: out("a.ova"), Descriptor: desc, Drop: []string{"vm-disk-1.vmdk"}}}}, `still references "vm-disk-1.vmdk"`},
		{"drops without a descriptor", Options{Outputs: []Output{{Path: out("a.ova"), Drop: []string{"vm-disk-1.vmdk"}}}}, "has no descriptor of its own"},
		{"drops an unknown file", Options{Outputs: []Output{{Path: out("a.ova"), Descriptor: desc, Drop: []string{"nope.vmdk"}}}}, `drops "nope.vmdk", which the export`},
		{"adds a file", Options{Outputs: []Output{{Path: out("a.ova"), Descriptor: bytes.Replace(desc, []byte("vm-disk-1.vmdk"), []byte("extra.vmdk"), 1)}}}, `references "extra.vmdk", which the export`},
		{"reorders files", Options{Outputs: []Output{{Path: out("a.ova"), Descriptor: swapped}}}, "out of the export's order"},
		{"bad descriptor", Options{Outputs: []Output{{Path: out("a.ova"), Descriptor: []byte("<nope")}}}, "descriptor for " + out("a.ova")},
		{"same path twice", Options{Outputs: []Output{{Path: out("a.ova")}, {Path: out("./a.ova")}}}, "given twice"},
		{"Output and Outputs", Options{Output: out("x.ova"), Outputs: []Output{{Path: out("a.ova")}}}, "either Output or Outputs"},
		{"empty path", Options{Outputs: []Output{{Path: out("a.ova")}, {}}}, "output 2 has no path"},
	} {
		tc.o.OVFPath = fx.ovf
		if _, err := PackAll(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Outputs: []Output{{Path: out("a.ova")}}}); err == nil || !strings.Contains(err.Error(), "use PackAll") {
		t.Errorf("Pack with Outputs: %v", err)
	}
	// One existing output refuses the whole set before anything is read.
	writeFile(t, out("b.ova"), []byte("old"))
	if _, err := PackAll(context.Background(), Options{OVFPath: fx.ovf, Outputs: []Output{{Path: out("a.ova")}, {Path: out("b.ova")}}}); err == nil || !strings.Contains(err.Error(), "b.ova exists") {
		t.Errorf("PackAll over an existing output: %v", err)
	}
	assertNoLeftovers(t, dir, "b.ova")
}
