package vsphereova

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
)

// fakeExporter is an exporter without vSphere: it writes the given disks
// and returns desc, or fails before disk number failAt.
type fakeExporter struct {
	disks  []string // contents; disk i is named <name>-disk-<i>.vmdk
	desc   string
	failAt int // -1: never
	reader func(ctx context.Context, content string) io.Reader
}

func (f *fakeExporter) Export(ctx context.Context, e vsphere.ExportOptions, put vsphere.PutFunc) (string, error) {
	for i, content := range f.disks {
		if i == f.failAt {
			return "", errors.New("export broken on purpose")
		}
		var r io.Reader = strings.NewReader(content)
		if f.reader != nil {
			r = f.reader(ctx, content)
		}
		name := fmt.Sprintf("%s-disk-%d.vmdk", e.Name, i)
		if n, err := put(ctx, name, int64(len(content)), r); err != nil {
			return "", err
		} else if n != int64(len(content)) {
			return "", errors.New("put reported a wrong size")
		}
	}
	return f.desc, nil
}

func runExport(t *testing.T, e *ExportConfig, ex exporter) (*stepRun, multistep.StepAction) {
	t.Helper()
	r := newStepRun(t)
	r.state.Put("exporter", ex)
	step := &stepExport{config: e}
	a := step.Run(context.Background(), r.state)
	if a != multistep.ActionContinue {
		r.state.Put(multistep.StateHalted, true)
	}
	step.Cleanup(r.state)
	return r, a
}

func TestExportWritesFilesAndManifest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	e := &ExportConfig{ExportConfig: common.ExportConfig{Name: "app", OutputDir: dir, Manifest: "sha256"}}
	r, a := runExport(t, e, &fakeExporter{disks: []string{"disk zero", "disk one"}, desc: "<Envelope/>", failAt: -1})
	if a != multistep.ActionContinue {
		t.Fatalf("export failed: %v", r.state.Get("error"))
	}
	if got := exportFiles(t, r.state.Get("export_files").([]string)); got != "app-disk-0.vmdk app-disk-1.vmdk app.ovf app.mf" {
		t.Errorf("files = %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "app-disk-1.vmdk")); string(b) != "disk one" {
		t.Errorf("disk 1 holds %q", b)
	}
	checkManifest(t, dir, "app", 3)
}

func TestExportWithoutManifest(t *testing.T) {
	dir := t.TempDir()
	e := &ExportConfig{ExportConfig: common.ExportConfig{Name: "app", OutputDir: dir, Manifest: "none"}}
	r, a := runExport(t, e, &fakeExporter{disks: []string{"d"}, desc: "<Envelope/>", failAt: -1})
	if a != multistep.ActionContinue {
		t.Fatalf("export failed: %v", r.state.Get("error"))
	}
	if _, err := os.Stat(filepath.Join(dir, "app.mf")); !os.IsNotExist(err) {
		t.Errorf("manifest = none wrote a manifest (err=%v)", err)
	}
}

// A failure or a cancel half way removes every file the step wrote and the
// folder it made; no temporary file stays.
func TestExportFailureLeavesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		ex   func(cancel context.CancelFunc) *fakeExporter
		want string
	}{
		{"exporter fails", func(context.CancelFunc) *fakeExporter {
			return &fakeExporter{disks: []string{"a", "b"}, failAt: 1}
		}, "broken on purpose"},
		{"unsafe name", func(context.CancelFunc) *fakeExporter {
			return &fakeExporter{disks: []string{"a"}, desc: "<Envelope/>", failAt: -1}
		}, "refusing to write"},
		{"cancelled mid-file", func(cancel context.CancelFunc) *fakeExporter {
			return &fakeExporter{disks: []string{"a", strings.Repeat("b", 1<<20)}, failAt: -1,
				reader: func(ctx context.Context, content string) io.Reader {
					if len(content) == 1 {
						return strings.NewReader(content)
					}
					return &cancelAfter{r: strings.NewReader(content), n: 4096, cancel: cancel}
				}}
		}, "context canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			e := &ExportConfig{ExportConfig: common.ExportConfig{Name: "app", OutputDir: dir, Manifest: "sha256"}}
			if c.name == "unsafe name" {
				e.Name = "../app"
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := newStepRun(t)
			r.state.Put("exporter", c.ex(cancel))
			step := &stepExport{config: e}
			if a := step.Run(ctx, r.state); a == multistep.ActionContinue {
				t.Fatal("export succeeded")
			}
			if err, _ := r.state.Get("error").(error); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
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

// cancelAfter cancels the build after n bytes, as Ctrl-C mid-download.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
	}
	if len(p) > 1024 {
		p = p[:1024]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

// A folder that existed before the build stays, as do files the step did
// not write.
func TestExportCleanupKeepsForeignFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := &ExportConfig{ExportConfig: common.ExportConfig{Name: "app", OutputDir: dir, Manifest: "sha256", Force: true}}
	_, a := runExport(t, e, &fakeExporter{disks: []string{"a", "b"}, failAt: 1})
	if a == multistep.ActionContinue {
		t.Fatal("export succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "notes.txt" {
		t.Errorf("folder after a failed export: %v, want only notes.txt", ents)
	}
}
