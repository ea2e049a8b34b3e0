package vsphereova

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// recUi is a packersdk.Ui that records what the post-processor says.
type recUi struct {
	packersdk.BasicUi
	mu  sync.Mutex
	buf bytes.Buffer
}

func newRecUi() *recUi {
	u := &recUi{}
	u.BasicUi = packersdk.BasicUi{Reader: strings.NewReader(""), Writer: &lockedWriter{u}, ErrorWriter: &lockedWriter{u}, PB: &packersdk.NoopProgressTracker{}}
	return u
}

type lockedWriter struct{ u *recUi }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.u.mu.Lock()
	defer w.u.mu.Unlock()
	return w.u.buf.Write(p)
}

func (u *recUi) String() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.buf.String()
}

// export writes a fixture export (real qemu-img) into a fresh folder and
// returns the .ovf path and every file in the folder, as a vSphere export
// artifact's Files() would list them.
func export(t *testing.T, o fixture.ExportOptions) (string, []string) {
	t.Helper()
	o.QemuImg = testenv.LookPath(t, "qemu-img")
	dir := t.TempDir()
	ovfPath, err := fixture.WriteExport(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return ovfPath, listDir(t, dir)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, filepath.Join(dir, e.Name()))
	}
	return files
}

// pack runs the post-processor on files with raw configuration.
func pack(ctx context.Context, t *testing.T, files []string, raw map[string]interface{}) (*Artifact, string, error) {
	t.Helper()
	var p PostProcessor
	if err := p.Configure(raw); err != nil {
		t.Fatalf("Configure(%v): %v", raw, err)
	}
	ui := newRecUi()
	art := &packersdk.MockArtifact{BuilderIdValue: "jetbrains.vsphere", FilesValue: files}
	out, keep, forceOverride, err := p.PostProcess(ctx, ui, art)
	if !keep || forceOverride {
		t.Errorf("PostProcess returned keep=%v forceOverride=%v; want true/false so keep_input_artifact decides", keep, forceOverride)
	}
	if err != nil {
		return nil, ui.String(), err
	}
	a, ok := out.(*Artifact)
	if !ok {
		t.Fatalf("artifact is %T, want *Artifact", out)
	}
	return a, ui.String(), nil
}

func mustPack(t *testing.T, files []string, raw map[string]interface{}) (*Artifact, string) {
	t.Helper()
	a, out, err := pack(context.Background(), t, files, raw)
	if err != nil {
		t.Fatalf("PostProcess: %v\nUI output:\n%s", err, out)
	}
	return a, out
}

// run runs a real program and returns its combined output and error.
func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	out, err := run(t, dir, nil, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}
