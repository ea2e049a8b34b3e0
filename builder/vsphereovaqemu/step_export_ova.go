package vsphereovaqemu

import (
	"context"
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// runOVA is Run with output_format = "ova": the native VMDK writer encodes
// each working disk straight into its member of one OVA
// (common.OVAExport), and the other referenced files are copied in, in the
// descriptor's References order; the edited descriptor, with the sizes
// written, goes into the OVA's head at the end.
func (s *stepExport) runOVA(ctx context.Context, state multistep.StateBag, ui packersdk.Ui,
	src *ovasource.Source, m *ovfMachine, disks []workDisk, edits descriptorEdits) multistep.StepAction {
	e := s.config
	x, err := e.CreateOVA(ui.Say, headReserve(len(src.Descriptor)))
	if err != nil {
		return halt(state, err)
	}
	s.ova = x
	ui.Say(fmt.Sprintf("Exporting to %s ...", e.OVAPath()))
	diskOf := map[string]int{}
	for i, d := range m.Disks {
		diskOf[d.Href] = i
	}
	for _, href := range m.Files {
		i, isDisk := diskOf[href]
		if !isDisk {
			if err := copyOther(ctx, src, href, x); err != nil {
				return halt(state, err)
			}
			continue
		}
		name := s.diskName(i)
		edit, err := s.encodeMember(ctx, ui, x, m, i, name, disks[i])
		if err != nil {
			return halt(state, fmt.Errorf("encoding disk %d to %s in %s: %w", i, name, e.OVAPath(), err))
		}
		edits.Disks = append(edits.Disks, edit)
	}
	if len(edits.Disks) != len(m.Disks) {
		return halt(state, fmt.Errorf("%s: %d disks but only %d referenced in References", src.OVFName, len(m.Disks), len(edits.Disks)))
	}
	desc, err := editDescriptor(src.Descriptor, edits)
	if err != nil {
		return halt(state, fmt.Errorf("%s: %w", src.OVFName, err))
	}
	res, err := x.Finish(ctx, desc)
	if err != nil {
		return halt(state, fmt.Errorf("publishing the export: %w", err))
	}
	state.Put("export_files", x.Files())
	s.success = true
	ui.Say(fmt.Sprintf("Exported %s (%d members, %d MiB; checksum pass %.2fs)", res.Path, len(res.Members), res.Size>>20, res.ChecksumTime.Seconds()))
	if res.Relocated {
		ui.Say("The OVA was copied once more: its descriptor outgrew the room reserved for it, or lists the files in another order than they were written")
	}
	return multistep.ActionContinue
}

// headReserve is the room kept for the .ovf and .mf: the edited descriptor
// is the source's with new names and numbers, so twice the source's size
// holds it and the manifest with a wide margin.
func headReserve(srcDescriptor int) int64 {
	return max(ova.DefaultHeadReserve, 2*int64(srcDescriptor))
}

// encodeMember encodes working disk i into the OVA member name.
func (s *stepExport) encodeMember(ctx context.Context, ui packersdk.Ui, x *common.OVAExport, m *ovfMachine, i int, name string, d workDisk) (diskEdit, error) {
	in, err := os.Open(d.Path)
	if err != nil {
		return diskEdit{}, err
	}
	defer in.Close()
	member, err := x.Create(name)
	if err != nil {
		return diskEdit{}, err
	}
	st, err := exportdir.Encode(ctx, member, in, d.Size, s.diskOptions(m, m.Disks[i]), ui, "encode "+name)
	if err != nil {
		return diskEdit{}, err
	}
	if err := member.Close(); err != nil {
		return diskEdit{}, err
	}
	return newDiskEdit(m.Disks[i], name, st), nil
}

// copyOther copies a referenced file that is not a disk (NVRAM, ISO)
// unchanged into the OVA under its own name.
func copyOther(ctx context.Context, src *ovasource.Source, href string, x *common.OVAExport) error {
	rc, _, err := src.OpenFile(href)
	if err != nil {
		return err
	}
	defer rc.Close()
	member, err := x.Create(href)
	if err == nil {
		_, err = member.Copy(ctx, rc)
	}
	if err == nil {
		err = member.Close()
	}
	if err != nil {
		return fmt.Errorf("copying %s from the source: %w", href, err)
	}
	return nil
}
