package vsphereovaqemu

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// stepExport writes the powered-off machine into output_directory the way
// a vSphere export looks: <name>-disk-N.vmdk (streamOptimized, from the
// native writer), <name>.ovf (the source descriptor, faithfully edited:
// file names and sizes, disk capacities, CPUs and memory) and <name>.mf.
// Other files the source references (an NVRAM, an ISO) are copied as they
// are. Every file is written to a temporary name and all are published
// together at the end (internal/exportdir's CommitAll): a failed or
// cancelled export leaves nothing under a final name. With output_format =
// "ova" the same files go into one OVA instead (step_export_ova.go).
type stepExport struct {
	config  *ExportConfig
	vmName  string
	hw      *HardwareConfig
	dir     *exportdir.Dir
	ova     *common.OVAExport
	success bool
}

func (s *stepExport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	src := state.Get("source").(*ovasource.Source)
	m := state.Get("ovf_machine").(*ovfMachine)
	disks := state.Get("work_disks").([]workDisk)
	e := s.config
	edits := s.baseEdits()
	if e.OutputFormat == common.FormatOVA {
		return s.runOVA(ctx, state, ui, src, m, disks, edits)
	}

	dir, err := e.OpenFolder(ui.Say)
	if err != nil {
		return halt(state, err)
	}
	s.dir = dir
	ui.Say(fmt.Sprintf("Exporting to %s ...", e.OutputDir))
	defer dir.Abort() // the temporary files, unless published

	for i, d := range m.Disks {
		name := s.diskName(i)
		st, err := encodeDisk(ctx, ui, dir, name, disks[i], s.diskOptions(m, d))
		if err != nil {
			return halt(state, fmt.Errorf("encoding disk %d to %s: %w", i, name, err))
		}
		edits.Disks = append(edits.Disks, newDiskEdit(d, name, st))
	}
	if err := copyOthers(ctx, src, m, dir); err != nil {
		return halt(state, err)
	}
	desc, err := editDescriptor(src.Descriptor, edits)
	if err != nil {
		return halt(state, fmt.Errorf("%s: %w", src.OVFName, err))
	}
	ovfFile, err := dir.Create(e.Name + ".ovf")
	if err != nil {
		return halt(state, err)
	}
	if _, err := ovfFile.Copy(ctx, bytes.NewReader(desc)); err != nil {
		return halt(state, err)
	}
	if e.Manifest != "none" {
		mf, err := dir.Create(e.Name + ".mf")
		if err != nil {
			return halt(state, err)
		}
		if _, err := mf.Copy(ctx, bytes.NewReader(dir.Manifest(ovfFile).Bytes())); err != nil {
			return halt(state, err)
		}
	}
	if err := dir.CommitAll(ctx); err != nil {
		return halt(state, fmt.Errorf("publishing the export: %w", err))
	}
	files := dir.Published()
	state.Put("export_files", files)
	s.success = true
	ui.Say(fmt.Sprintf("Exported %d files to %s", len(files), e.OutputDir))
	return multistep.ActionContinue
}

// baseEdits are the descriptor edits that do not depend on the disks
// written: name, CPUs, memory, firmware.
func (s *stepExport) baseEdits() descriptorEdits {
	edits := descriptorEdits{Name: s.vmName, CPUs: s.hw.CPUs, CoresPerSocket: s.hw.CpuCores, MemoryMiB: s.hw.RAM}
	if fw, secure, set := s.hw.firmwareSettings(); set {
		edits.Firmware, edits.SecureBoot = fw, secure
	}
	return edits
}

// diskName names disk i of the export, numbered from 0 as vSphere's export
// lease names disks and the vsphere-ova builder writes them.
func (s *stepExport) diskName(i int) string { return fmt.Sprintf("%s-disk-%d.vmdk", s.config.Name, i) }

// diskOptions are the VMDK writer's options for disk d.
func (s *stepExport) diskOptions(m *ovfMachine, d ovfDisk) vmdk.Options {
	return vmdk.Options{
		Level:           s.config.CompressionLevel,
		AdapterType:     hardware.AdapterTypeFor(m.Controllers[d.Controller]),
		HardwareVersion: m.HardwareVersion,
	}
}

// newDiskEdit is the descriptor edit for disk d written as name.
func newDiskEdit(d ovfDisk, name string, st vmdk.Stats) diskEdit {
	return diskEdit{
		DiskID: d.DiskID, OldHref: d.Href, NewHref: name,
		FileSize: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize,
	}
}

// encodeDisk writes a working disk into dir as the streamOptimized VMDK
// name. The working copy is an *os.File: its holes are skipped (SEEK_DATA).
func encodeDisk(ctx context.Context, ui packersdk.Ui, dir *exportdir.Dir, name string, d workDisk, o vmdk.Options) (vmdk.Stats, error) {
	in, err := os.Open(d.Path)
	if err != nil {
		return vmdk.Stats{}, err
	}
	defer in.Close()
	_, st, err := dir.EncodeDisk(ctx, name, in, d.Size, o, ui, "encode "+name)
	return st, err
}

// copyOthers copies the files the source references that are not disks
// (NVRAM, ISO images) unchanged, under their own names.
func copyOthers(ctx context.Context, src *ovasource.Source, m *ovfMachine, dir *exportdir.Dir) error {
	disks := map[string]bool{}
	for _, d := range m.Disks {
		disks[d.Href] = true
	}
	for _, href := range m.Files {
		if disks[href] {
			continue
		}
		rc, _, err := src.OpenFile(href)
		if err != nil {
			return err
		}
		out, err := dir.Create(href)
		if err == nil {
			_, err = out.Copy(ctx, rc)
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("copying %s from the source: %w", href, err)
		}
	}
	return nil
}

// Cleanup removes what Run published unless the whole build succeeded.
func (s *stepExport) Cleanup(state multistep.StateBag) {
	if s.success && !failed(state) {
		return
	}
	common.RemovePartialExport(state.Get("ui").(packersdk.Ui), s.dir, s.ova)
}
