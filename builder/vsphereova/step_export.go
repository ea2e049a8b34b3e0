package vsphereova

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/cpuprofile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
)

// stepExport writes the powered-off VM into output_directory as
// <name>.ovf, its disks and <name>.mf. The disks and descriptor come from the
// exporter in state (vsphere_machine.go); this step owns the folder
// (internal/exportdir): every file is written atomically with mode 0644, its
// digest computed while it is written, and published as soon as it is
// complete; on failure or cancel everything it wrote is removed again.
type stepExport struct {
	config  *ExportConfig
	dir     *exportdir.Dir
	success bool
}

func (s *stepExport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	ex := state.Get("exporter").(exporter)
	e := s.config

	dir, err := e.OpenFolder(ui.Say)
	if err != nil {
		return halt(state, err)
	}
	s.dir = dir
	ui.Say(fmt.Sprintf("Exporting VM to %s ...", e.OutputDir))
	start := time.Now()
	var written int64
	put := func(ctx context.Context, name string, size int64, r io.Reader) (int64, error) {
		body := progress.Track(ui, name, size, io.NopCloser(r))
		defer body.Close()
		f, err := dir.Put(ctx, name, body)
		if err != nil {
			return 0, err
		}
		written += f.Size()
		return f.Size(), nil
	}
	stopProfile := cpuprofile.Start(ui.Error)
	desc, err := ex.Export(ctx, e.exportOptions(), put)
	stopProfile()
	if err != nil {
		return halt(state, err)
	}
	ovfFile, err := dir.Put(ctx, e.Name+".ovf", strings.NewReader(desc))
	if err != nil {
		return halt(state, err)
	}
	if e.Manifest != "none" {
		if _, err := dir.Put(ctx, e.Name+".mf", bytes.NewReader(dir.Manifest(ovfFile).Bytes())); err != nil {
			return halt(state, err)
		}
	}
	files := dir.Published()
	state.Put("export_files", files)
	s.success = true
	// The rate is what users compare with their network; make bench reads
	// the duration from this line (bench/export.sh).
	took := time.Since(start)
	ui.Say(fmt.Sprintf("Exported %d files to %s: %d MiB of disks in %.2fs (%.0f MiB/s)", len(files), e.OutputDir,
		written>>20, took.Seconds(), float64(written)/(1<<20)/max(took.Seconds(), 1e-3)))
	return multistep.ActionContinue
}

// Cleanup removes what Run wrote unless the whole build succeeded.
func (s *stepExport) Cleanup(state multistep.StateBag) {
	if s.dir == nil || s.success && !failed(state) {
		return
	}
	if err := s.dir.Remove(); err != nil {
		state.Get("ui").(packersdk.Ui).Error(fmt.Sprintf("removing partial export: %v", err))
	}
}
