package vsphereovaqemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/leftover"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

// decodeSetup prepares a build of a two-disk OVA with output_directory in
// a fresh folder and TMPDIR set to another, and runs the steps up to the
// decode, which it returns unrun.
func decodeSetup(t *testing.T, extra map[string]interface{}) (r *stepRunner, dec *stepDecodeDisks, base, tmp string) {
	r, dec, base, tmp, _ = decodeSetupBuilder(t, extra)
	return r, dec, base, tmp
}

// decodeSetupBuilder is decodeSetup that also returns the builder, with its
// prepared configuration.
func decodeSetupBuilder(t *testing.T, extra map[string]interface{}) (r *stepRunner, dec *stepDecodeDisks, base, tmp string, b *Builder) {
	t.Helper()
	src := smallOVA(t, ovfvm.Config{Name: "base"}, smallDisk(1, 4<<20), smallDisk(2, 2<<20))
	base, tmp = t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	raw := map[string]interface{}{"source_path": src, "communicator": "none", "export": map[string]interface{}{"output_directory": filepath.Join(base, "out")}}
	for k, v := range extra {
		raw[k] = v
	}
	c := prepared(t, raw)
	b = &Builder{config: *c}
	for _, s := range b.steps() {
		if d, ok := s.(*stepDecodeDisks); ok {
			dec = d // the step as the builder wires it
		}
	}
	r = newStepRunner(t)
	r.must(b.config.SourceConfig.OpenStep())
	r.must(&stepReadMachine{config: &b.config.SourceConfig})
	return r, dec, base, tmp, b
}

// The working disks, the OVF environment's folder and QEMU's folder are
// made beside output_directory (one working folder), nothing in TMPDIR,
// and all of it is gone after cleanup.
func TestWorkDirBesideOutput(t *testing.T) {
	r, dec, base, tmp := decodeSetup(t, nil)
	r.must(dec)
	work := r.state.Get("work_dir").(string)
	if filepath.Dir(work) != base || !strings.HasPrefix(filepath.Base(work), workDirPrefix) {
		t.Errorf("working folder %s, want %s* in %s", work, workDirPrefix, base)
	}
	for _, d := range r.state.Get("work_disks").([]workDisk) {
		if filepath.Dir(d.Path) != work {
			t.Errorf("working disk %s outside the working folder %s", d.Path, work)
		}
	}
	cfg, err := (&stepRun{config: &Config{}}).machineConfig(r.state)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.WorkDir != filepath.Join(work, qemuSubdir) {
		t.Errorf("QEMU's folder %q, want in %s", cfg.WorkDir, work)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("the build wrote to TMPDIR: %v", entryNames(ents))
	}
	r.cleanup()
	if ents, _ := os.ReadDir(base); len(ents) != 0 {
		t.Errorf("left beside output_directory after cleanup: %v", entryNames(ents))
	}
}

// working_directory chooses the folder; it is created when missing.
func TestWorkingDirectoryOption(t *testing.T) {
	wd := filepath.Join(t.TempDir(), "a", "b")
	r, dec, base, tmp := decodeSetup(t, map[string]interface{}{"working_directory": wd})
	r.must(dec)
	defer r.cleanup()
	work := r.state.Get("work_dir").(string)
	if filepath.Dir(work) != wd {
		t.Errorf("working folder %s, want in working_directory %s", work, wd)
	}
	for _, d := range []string{base, tmp} {
		if ents, _ := os.ReadDir(d); len(ents) != 0 {
			t.Errorf("%s not empty: %v", d, entryNames(ents))
		}
	}
}

// A file system too small for the disks' data fails before anything is
// decoded, with the folder, the sizes and the fix; nothing is left.
func TestWorkDirFreeSpace(t *testing.T) {
	var asked string
	old := freeSpace
	freeSpace = func(p string) (int64, bool, error) { asked = p; return 4096, true, nil }
	defer func() { freeSpace = old }()
	r, dec, base, _ := decodeSetup(t, nil)
	if a := r.run(dec); a == 0 {
		t.Fatal("decoded into a file system without room")
	}
	msg := r.state.Get("error").(error).Error()
	need := diskNeed(r.state.Get("ovf_machine").(*ovfMachine), nil)
	for _, want := range []string{"in " + base + " (beside output_directory", "only 4.0 KiB free", "set working_directory"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if need <= 4096 || asked != base {
		t.Errorf("need %d bytes (from populatedSize), free space asked of %q", need, asked)
	}
	if r.state.Get("work_disks") != nil {
		t.Error("disks decoded despite the error")
	}
	r.cleanup()
	if ents, _ := os.ReadDir(base); len(ents) != 0 {
		t.Errorf("left after the error: %v", entryNames(ents))
	}
}

// A killed build's working folder beside output_directory is removed by
// the next build there.
func TestWorkDirRemovesStaleBesideOutput(t *testing.T) {
	r, dec, base, _ := decodeSetup(t, nil)
	stale := filepath.Join(base, workDirPrefix+"1")
	leftover.Folder(t, stale, 4096)
	r.must(dec)
	defer r.cleanup()
	if _, err := os.Stat(stale); !os.IsNotExist(err) || !strings.Contains(r.out.String(), "Removed "+stale) {
		t.Errorf("stale working folder: %v\n%s", err, r.out)
	}
}

// Without ovf:populatedSize a disk needs at least its compressed VMDK's
// size (a lower bound); with it, the declared size.
func TestDiskNeed(t *testing.T) {
	r, _, _, _ := decodeSetup(t, nil)
	defer r.cleanup()
	m := *r.state.Get("ovf_machine").(*ovfMachine)
	src := r.state.Get("source").(*ovasource.Source)
	m.Disks = append([]ovfDisk(nil), m.Disks...)
	var members int64
	for i := range m.Disks {
		n, err := src.Stat(m.Disks[i].Href)
		if err != nil {
			t.Fatal(err)
		}
		members += n
		if m.Disks[i].PopulatedBytes <= n {
			t.Errorf("disk %d: populatedSize %d not above its compressed size %d: the test proves nothing", i, m.Disks[i].PopulatedBytes, n)
		}
	}
	if got, want := diskNeed(&m, src), m.Disks[0].PopulatedBytes+m.Disks[1].PopulatedBytes; got != want {
		t.Errorf("with populatedSize: need %d, want %d", got, want)
	}
	for i := range m.Disks {
		m.Disks[i].PopulatedBytes = 0
	}
	if got := diskNeed(&m, src); got != members {
		t.Errorf("without populatedSize: need %d, want the members' %d bytes", got, members)
	}
}
