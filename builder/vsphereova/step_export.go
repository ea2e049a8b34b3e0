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

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
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
// With output_format = "ova" it writes one OVA instead (runOVA).
type stepExport struct {
	config  *ExportConfig
	dir     *exportdir.Dir
	ova     *common.OVAExport
	success bool
}

func (s *stepExport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	ex := state.Get("exporter").(exporter)
	e := s.config
	if e.OutputFormat == common.FormatOVA {
		return s.runOVA(ctx, state, ui, ex)
	}

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

// runOVA streams every file of the export into one OVA (common.OVAExport):
// the NFC download writes straight into the archive's member, and the
// descriptor vSphere writes for the files as downloaded goes into its head.
func (s *stepExport) runOVA(ctx context.Context, state multistep.StateBag, ui packersdk.Ui, ex exporter) multistep.StepAction {
	e := s.config
	x, err := e.CreateOVA(ui.Say, 0)
	if err != nil {
		return halt(state, err)
	}
	s.ova = x
	ui.Say(fmt.Sprintf("Exporting VM to %s ...", e.OVAPath()))
	start := time.Now()
	var written int64
	put := func(ctx context.Context, name string, size int64, r io.Reader) (int64, error) {
		body := progress.Track(ui, name, size, io.NopCloser(r))
		defer body.Close()
		m, err := x.Create(name)
		if err != nil {
			return 0, err
		}
		n, err := m.Copy(ctx, body)
		if err == nil {
			err = m.Close()
		}
		written += n
		return n, err
	}
	stopProfile := cpuprofile.Start(ui.Error)
	desc, err := ex.Export(ctx, e.exportOptions(), put)
	stopProfile()
	if err != nil {
		return halt(state, err)
	}
	res, err := x.Finish(ctx, []byte(desc))
	if err != nil {
		return halt(state, err)
	}
	state.Put("export_files", x.Files())
	s.success = true
	took := time.Since(start)
	ui.Say(fmt.Sprintf("Exported %d files to %s: %d MiB of disks in %.2fs (%.0f MiB/s; checksum pass %.2fs)",
		len(res.Members), res.Path, written>>20, took.Seconds(), float64(written)/(1<<20)/max(took.Seconds(), 1e-3),
		res.ChecksumTime.Seconds()))
	if res.Relocated {
		ui.Say("The OVA was copied once more: its descriptor outgrew the room reserved for it, or lists the files in another order than they were written")
	}
	return multistep.ActionContinue
}

// Cleanup removes what Run wrote unless the whole build succeeded.
func (s *stepExport) Cleanup(state multistep.StateBag) {
	if s.success && !failed(state) {
		return
	}
	common.RemovePartialExport(state.Get("ui").(packersdk.Ui), s.dir, s.ova)
}
