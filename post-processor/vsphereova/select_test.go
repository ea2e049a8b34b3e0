package vsphereova

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

func TestSelectOVF(t *testing.T) {
	files := []string{"/e/vm.ovf", "/e/vm.mf", "/e/vm-disk-0.vmdk"}
	got, err := selectOVF(files, "", "jetbrains.vsphere")
	if err != nil || got != "/e/vm.ovf" {
		t.Fatalf("single ovf: got %q, %v", got, err)
	}
	two := []string{"/a/x.ovf", "/b/y.OVF", "/b/y-disk-0.vmdk"}
	if got, err := selectOVF(two, "y.OVF", "b"); err != nil || got != "/b/y.OVF" {
		t.Fatalf("ovf by base name: got %q, %v", got, err)
	}
	if got, err := selectOVF(two, "/a/x.ovf", "b"); err != nil || got != "/a/x.ovf" {
		t.Fatalf("ovf by path: got %q, %v", got, err)
	}
}

func TestSelectOVFErrorsListFiles(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  string
		msgs  []string
	}{
		{"none", []string{"/e/disk.vmdk", "/e/notes.txt"}, "",
			[]string{"contains no .ovf file", "/e/disk.vmdk, /e/notes.txt", "builder packer.post-processor.artifice"}},
		{"empty artifact", nil, "", []string{"contains no .ovf file", "no files"}},
		{"several", []string{"/a/x.ovf", "/b/y.ovf"}, "",
			[]string{"contains 2 .ovf files", "/a/x.ovf, /b/y.ovf", `set ovf = "<name>.ovf"`}},
		{"named missing", []string{"/a/x.ovf", "/a/x.vmdk"}, "z.ovf",
			[]string{`ovf = "z.ovf"`, "has no such .ovf", "/a/x.ovf, /a/x.vmdk"}},
		{"named ambiguous", []string{"/a/x.ovf", "/b/x.ovf"}, "x.ovf",
			[]string{"matches 2 files", "give the full path"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := selectOVF(tc.files, tc.want, "packer.post-processor.artifice")
			if err == nil {
				t.Fatal("no error")
			}
			for _, m := range tc.msgs {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
		})
	}
}

// PostProcess must fail before writing anything when the artifact has no .ovf.
func TestPostProcessNoOVF(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "d.vmdk")
	if err := os.WriteFile(disk, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var p PostProcessor
	if err := p.Configure(map[string]interface{}{}); err != nil {
		t.Fatal(err)
	}
	art := &packersdk.MockArtifact{BuilderIdValue: "jetbrains.vsphere", FilesValue: []string{disk}}
	out, keep, force, err := p.PostProcess(context.Background(), packersdk.TestUi(t), art)
	if err == nil || out != nil {
		t.Fatalf("want error and no artifact, got %v, %v", out, err)
	}
	if !keep || force {
		t.Errorf("on error keep=%v forceOverride=%v, want true/false", keep, force)
	}
	if !strings.Contains(err.Error(), disk) {
		t.Errorf("error does not list the artifact's files: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder changed: %v", entries)
	}
}

func TestLeftOut(t *testing.T) {
	dir := t.TempDir()
	files := []string{}
	for _, n := range []string{"vm.ovf", "vm.mf", "vm-disk-0.vmdk", "vm.nvram", "notes.txt"} {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	refs := refsFor("vm-disk-0.vmdk")
	got := leftOut(files, filepath.Join(dir, "vm.ovf"), refs)
	want := []string{filepath.Join(dir, "notes.txt"), filepath.Join(dir, "vm.nvram")}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("leftOut = %v, want %v", got, want)
	}
}

func TestArtifact(t *testing.T) {
	dir := t.TempDir()
	a := &Artifact{Path: filepath.Join(dir, "x.ova"), ChecksumPath: filepath.Join(dir, "x.ova.sha256"), Digest: "ab", DigestAlgorithm: "sha256"}
	for _, f := range a.Files() {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if a.BuilderId() != BuilderId || a.Id() != a.Path || len(a.Files()) != 2 {
		t.Errorf("artifact identity: %q %q %v", a.BuilderId(), a.Id(), a.Files())
	}
	if a.State("ova.digest") != "ab" || a.State("ova.digest_algorithm") != "sha256" || a.State("nope") != nil {
		t.Errorf("State: %v %v", a.State("ova.digest"), a.State("ova.digest_algorithm"))
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files() {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s survived Destroy: %v", f, err)
		}
	}
	if err := a.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
	noSum := &Artifact{Path: "/x.ova"}
	if len(noSum.Files()) != 1 {
		t.Errorf("checksum none: files %v", noSum.Files())
	}
}

func refsFor(hrefs ...string) []ovf.File {
	out := make([]ovf.File, len(hrefs))
	for i, h := range hrefs {
		out[i] = ovf.File{ID: fmt.Sprintf("file%d", i), Href: h, Size: -1}
	}
	return out
}
