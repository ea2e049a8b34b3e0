package vsphereova

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/writeback"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/cpuprofile"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// stepExport writes the powered-off VM into output_directory as
// <name>.ovf, its disks and <name>.mf. The disks and descriptor come from the
// exporter in state (vsphere_machine.go); this step owns the folder: every
// file is written atomically with mode 0644 (an export is for sharing, like
// the OVA made from it), its digest computed while it is written, and on
// failure or cancel everything it wrote is removed again.
type stepExport struct {
	config  *ExportConfig
	created []string // final paths written by this step
	digests []string // manifest lines of the disks, in write order
	madeDir bool
	success bool
}

func (s *stepExport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	ex := state.Get("exporter").(exporter)
	e := s.config

	if _, err := os.Stat(e.OutputDir); os.IsNotExist(err) {
		s.madeDir = true
	}
	if err := os.MkdirAll(e.OutputDir, 0o755); err != nil {
		return halt(state, fmt.Errorf("creating export.output_directory: %w", err))
	}
	ui.Say(fmt.Sprintf("Exporting VM to %s ...", e.OutputDir))
	start := time.Now()
	var written int64
	put := func(ctx context.Context, name string, size int64, r io.Reader) (int64, error) {
		body := progress.Track(ui, name, size, io.NopCloser(r))
		defer body.Close()
		n, digest, err := s.write(ctx, name, body)
		written += n
		if err == nil && digest != "" {
			s.digests = append(s.digests, manifestLine(e.Manifest, name, digest))
		}
		return n, err
	}
	stopProfile := cpuprofile.Start(ui.Error)
	desc, err := ex.Export(ctx, e, put)
	stopProfile()
	if err != nil {
		return halt(state, err)
	}
	ovfName := e.Name + ".ovf"
	_, digest, err := s.write(ctx, ovfName, strings.NewReader(desc))
	if err != nil {
		return halt(state, err)
	}
	if e.Manifest != "none" {
		// The descriptor line first, as ovftool writes it.
		mf := manifestLine(e.Manifest, ovfName, digest) + strings.Join(s.digests, "")
		if _, _, err := s.write(ctx, e.Name+".mf", strings.NewReader(mf)); err != nil {
			return halt(state, err)
		}
	}
	state.Put("export_files", append([]string(nil), s.created...))
	s.success = true
	// The rate is what users compare with their network; make bench reads
	// the duration from this line (bench/export.sh).
	took := time.Since(start)
	ui.Say(fmt.Sprintf("Exported %d files to %s: %d MiB of disks in %.2fs (%.0f MiB/s)", len(s.created), e.OutputDir,
		written>>20, took.Seconds(), float64(written)/(1<<20)/max(took.Seconds(), 1e-3)))
	return multistep.ActionContinue
}

func manifestLine(alg, name, digest string) string {
	return fmt.Sprintf("%s(%s)= %s\n", strings.ToUpper(alg), name, digest)
}

// write copies r into output_directory/name atomically and returns the size
// and the manifest digest of the content ("" when export.manifest = "none").
func (s *stepExport) write(ctx context.Context, name string, r io.Reader) (int64, string, error) {
	if err := ovf.CheckHref(name); err != nil {
		return 0, "", fmt.Errorf("refusing to write export file %q: %w", name, err)
	}
	var h hash.Hash
	if s.config.Manifest != "none" {
		var err error
		if h, err = ovf.NewHash(s.config.Manifest); err != nil {
			return 0, "", err
		}
	}
	final := filepath.Join(s.config.OutputDir, name)
	f, err := atomicfile.Create(final, 0o644)
	if err != nil {
		return 0, "", err
	}
	defer f.Abort()
	// Hashing on its own core while the file is written: one pass over the
	// stream, no second read (issue 8).
	pw := writeback.New(f.File)
	ws := []io.Writer{pw}
	if h != nil {
		ws = append(ws, h)
	}
	n, err := ctxio.Tee(ctx, r, ws...)
	pw.Close()
	if err != nil {
		return 0, "", fmt.Errorf("writing %s: %w", final, err)
	}
	if err := f.Commit(ctx); err != nil {
		return 0, "", err
	}
	s.created = append(s.created, final)
	if h == nil {
		return n, "", nil
	}
	return n, fmt.Sprintf("%x", h.Sum(nil)), nil
}

// Cleanup removes what Run wrote unless the whole build succeeded.
func (s *stepExport) Cleanup(state multistep.StateBag) {
	if s.success && !failed(state) {
		return
	}
	var errs []error
	for _, f := range s.created {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	s.created = nil
	if s.madeDir {
		_ = os.Remove(s.config.OutputDir) // only if empty
	}
	if len(errs) > 0 {
		state.Get("ui").(packersdk.Ui).Error(fmt.Sprintf("removing partial export: %v", errors.Join(errs...)))
	}
}
