package vsphereova

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// refsOVF is a descriptor referencing disks named as fakeExporter writes
// them, with their sizes, as vSphere's CreateDescriptor returns it.
func refsOVF(name string, disks ...string) string {
	var refs strings.Builder
	for i, d := range disks {
		fmt.Fprintf(&refs, `<File ovf:href="%s-disk-%d.vmdk" ovf:id="file%d" ovf:size="%d"/>`, name, i, i+1, len(d))
	}
	return `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>` +
		refs.String() + `</References><VirtualSystem ovf:id="vm"><Info>A VM</Info></VirtualSystem></Envelope>`
}

// With output_format = "ova" the download goes straight into one OVA: the
// artifact is the OVA and its checksum file, the folder holds nothing else,
// and the OVA's members are .ovf, .mf, then the disks, verified.
func TestExportOVA(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	disks := []string{"disk zero", "", strings.Repeat("x", 700)}
	e := &ExportConfig{ExportConfig: common.ExportConfig{Name: "app", OutputDir: dir, Manifest: "sha256",
		OutputFormat: "ova", ChecksumAlgorithm: "sha512"}}
	r, a := runExport(t, e, &fakeExporter{disks: disks, desc: refsOVF("app", disks...), failAt: -1})
	if a != multistep.ActionContinue {
		t.Fatalf("export failed: %v", r.state.Get("error"))
	}
	files := r.state.Get("export_files").([]string)
	if got := exportFiles(t, files); got != "app.ova app.ova.sha512" {
		t.Fatalf("files = %s", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Fatalf("output_directory holds %v", ents)
	}
	arc, err := ova.OpenArchive(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer arc.Close()
	names := arc.Names()
	if got := strings.Join(names, " "); got != "app.ovf app.mf app-disk-0.vmdk app-disk-1.vmdk app-disk-2.vmdk" {
		t.Fatalf("members %s", got)
	}
	if _, err := arc.Descriptor(); err != nil {
		t.Fatal(err)
	}
	for i, d := range disks {
		rc, _, err := arc.Open(fmt.Sprintf("app-disk-%d.vmdk", i))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil || string(b) != d {
			t.Fatalf("disk %d: %q, %v", i, b, err)
		}
	}
	if sum, _ := os.ReadFile(files[1]); !strings.HasSuffix(string(sum), "  app.ova\n") || len(strings.Fields(string(sum))[0]) != 128 {
		t.Errorf("checksum file %q", sum)
	}
}

// A cancel mid-download, or a failure after the OVA was published (a later
// step), leaves neither the OVA, nor its checksum file, nor the folder.
func TestExportOVAFailureLeavesNothing(t *testing.T) {
	for _, c := range []string{"cancelled mid-file", "later step failed"} {
		t.Run(c, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			disks := []string{"a", strings.Repeat("b", 1<<20)}
			e := &ExportConfig{ExportConfig: common.ExportConfig{Name: "app", OutputDir: dir, Manifest: "sha256",
				OutputFormat: "ova", ChecksumAlgorithm: "sha256"}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ex := &fakeExporter{disks: disks, desc: refsOVF("app", disks...), failAt: -1}
			if c == "cancelled mid-file" {
				ex.reader = func(ctx context.Context, content string) io.Reader {
					if len(content) == 1 {
						return strings.NewReader(content)
					}
					return &cancelAfter{r: strings.NewReader(content), n: 4096, cancel: cancel}
				}
			}
			r := newStepRun(t)
			r.state.Put("exporter", ex)
			step := &stepExport{config: e}
			a := step.Run(ctx, r.state)
			if (a == multistep.ActionContinue) != (c == "later step failed") {
				t.Fatalf("Run: %v (%v)", a, r.state.Get("error"))
			}
			if c == "later step failed" {
				if _, err := os.Stat(filepath.Join(dir, "app.ova")); err != nil {
					t.Fatalf("no OVA after a successful step: %v", err)
				}
			}
			r.state.Put(multistep.StateHalted, true)
			step.Cleanup(r.state)
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				ents, _ := os.ReadDir(dir)
				t.Errorf("output_directory still exists with %v", ents)
			}
			if left, _ := atomicfile.Leftovers(parent); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}
