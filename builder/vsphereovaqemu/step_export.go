package vsphereovaqemu

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// stepExport writes the powered-off machine into output_directory the way
// a vSphere export looks: <name>-disk-N.vmdk (streamOptimized, from the
// native writer), <name>.ovf (the source descriptor, faithfully edited:
// file names and sizes, disk capacities, CPUs and memory) and <name>.mf.
// Other files the source references (an NVRAM, an ISO) are copied as they
// are. Every file is written to a temporary name and all are published
// together at the end (atomicfile.CommitAll): a failed or cancelled export
// leaves nothing under a final name.
type stepExport struct {
	config  *ExportConfig
	vmName  string
	hw      *HardwareConfig
	created []string
	madeDir bool
	success bool
}

// pending is a file being written, with its manifest digest.
type pending struct {
	f    *atomicfile.File
	name string
	h    hash.Hash
	n    int64
}

func (s *stepExport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	src := state.Get("source").(*ovasource.Source)
	m := state.Get("ovf_machine").(*ovfMachine)
	disks := state.Get("work_disks").([]workDisk)
	e := s.config

	if _, err := os.Stat(e.OutputDir); os.IsNotExist(err) {
		s.madeDir = true
	}
	if err := os.MkdirAll(e.OutputDir, 0o755); err != nil {
		return halt(state, fmt.Errorf("creating export.output_directory: %w", err))
	}
	ui.Say(fmt.Sprintf("Exporting to %s ...", e.OutputDir))
	var files []*pending
	defer func() {
		for _, p := range files {
			p.f.Abort() // no-op once committed
		}
	}()
	create := func(name string) (*pending, error) {
		if err := ovf.CheckHref(name); err != nil {
			return nil, fmt.Errorf("refusing to write export file %q: %w", name, err)
		}
		f, err := atomicfile.Create(filepath.Join(e.OutputDir, name), 0o644)
		if err != nil {
			return nil, err
		}
		p := &pending{f: f, name: name}
		if e.Manifest != "none" {
			if p.h, err = ovf.NewHash(e.Manifest); err != nil {
				f.Abort()
				return nil, err
			}
		}
		files = append(files, p)
		return p, nil
	}

	edits := descriptorEdits{Name: s.vmName, CPUs: s.hw.CPUs, CoresPerSocket: s.hw.CpuCores, MemoryMiB: s.hw.RAM}
	if s.hw.Firmware != "" || s.hw.SecureBoot {
		edits.Firmware, edits.SecureBoot = m.Firmware, m.SecureBoot || s.hw.SecureBoot
		if s.hw.Firmware != "" {
			edits.Firmware = s.hw.Firmware
		}
		if edits.Firmware == "bios" {
			edits.SecureBoot = false
		}
	}
	hwVersion := hardwareVersion(src)
	for i, d := range m.Disks {
		name := fmt.Sprintf("%s-disk-%d.vmdk", e.Name, i+1)
		p, err := create(name)
		if err != nil {
			return halt(state, err)
		}
		st, err := encodeDisk(ctx, ui, p, disks[i], vmdk.Options{
			Level:           e.CompressionLevel,
			AdapterType:     vmdk.AdapterTypeFor(m.Controllers[d.Controller]),
			HardwareVersion: hwVersion,
		})
		if err != nil {
			return halt(state, fmt.Errorf("encoding disk %d to %s: %w", i, name, err))
		}
		edits.Disks = append(edits.Disks, diskEdit{
			DiskID: d.DiskID, OldHref: d.Href, NewHref: name,
			FileSize: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize,
		})
	}
	if err := s.copyOthers(ctx, src, m, create); err != nil {
		return halt(state, err)
	}
	desc, err := editDescriptor(src.Descriptor, edits)
	if err != nil {
		return halt(state, fmt.Errorf("%s: %w", src.OVFName, err))
	}
	ovfFile, err := create(e.Name + ".ovf")
	if err != nil {
		return halt(state, err)
	}
	if err := ovfFile.write(ctx, strings.NewReader(string(desc))); err != nil {
		return halt(state, err)
	}
	all := []*atomicfile.File{}
	if e.Manifest != "none" {
		// The descriptor first, then the files in write order, as ovftool does.
		mf := manifestLine(e.Manifest, ovfFile)
		for _, p := range files {
			if p != ovfFile {
				mf += manifestLine(e.Manifest, p)
			}
		}
		mfFile, err := create(e.Name + ".mf")
		if err != nil {
			return halt(state, err)
		}
		if err := mfFile.write(ctx, strings.NewReader(mf)); err != nil {
			return halt(state, err)
		}
	}
	for _, p := range files {
		all = append(all, p.f)
	}
	if err := atomicfile.CommitAll(ctx, all...); err != nil {
		return halt(state, fmt.Errorf("publishing the export: %w", err))
	}
	for _, p := range files {
		s.created = append(s.created, p.f.Final())
	}
	state.Put("export_files", append([]string(nil), s.created...))
	s.success = true
	ui.Say(fmt.Sprintf("Exported %d files to %s", len(s.created), e.OutputDir))
	return multistep.ActionContinue
}

// encodeDisk writes a working disk as a streamOptimized VMDK into p.
func encodeDisk(ctx context.Context, ui packersdk.Ui, p *pending, d workDisk, o vmdk.Options) (vmdk.Stats, error) {
	in, err := os.Open(d.Path)
	if err != nil {
		return vmdk.Stats{}, err
	}
	defer in.Close()
	bar := progress.Start(ui, "encode "+p.name, d.Size)
	var shown int64
	o.Progress = func(done, _ int64) {
		bar.Add(done - shown)
		shown = done
	}
	var w io.Writer = p.f
	if p.h != nil {
		w = io.MultiWriter(p.f, p.h)
	}
	cw := &countWriter{w: w}
	// *os.File: Write skips the holes with SEEK_DATA/SEEK_HOLE.
	st, err := vmdk.Write(ctx, cw, in, d.Size, o)
	bar.Stop()
	p.n = cw.n
	return st, err
}

// copyOthers copies the files the source references that are not disks
// (NVRAM, ISO images) unchanged, under their own names.
func (s *stepExport) copyOthers(ctx context.Context, src *ovasource.Source, m *ovfMachine, create func(string) (*pending, error)) error {
	disks := map[string]bool{}
	for _, d := range m.Disks {
		disks[d.Href] = true
	}
	for _, f := range src.Envelope.References {
		if disks[f.Href] {
			continue
		}
		rc, _, err := src.OpenFile(f.Href)
		if err != nil {
			return err
		}
		p, err := create(f.Href)
		if err == nil {
			err = p.write(ctx, rc)
		}
		rc.Close()
		if err != nil {
			return fmt.Errorf("copying %s from the source: %w", f.Href, err)
		}
	}
	return nil
}

func (p *pending) write(ctx context.Context, r io.Reader) error {
	var w io.Writer = p.f
	if p.h != nil {
		w = io.MultiWriter(p.f, p.h)
	}
	n, err := ctxio.Copy(ctx, w, r)
	p.n = n
	if err != nil {
		return fmt.Errorf("writing %s: %w", p.f.Final(), err)
	}
	return nil
}

func manifestLine(alg string, p *pending) string {
	return fmt.Sprintf("%s(%s)= %x\n", strings.ToUpper(alg), p.name, p.h.Sum(nil))
}

// hardwareVersion reads vmx-NN from the OVF's VirtualSystemType for the
// VMDK's ddb.virtualHWVersion (0: unknown).
func hardwareVersion(src *ovasource.Source) int {
	vs := src.Envelope.VirtualSystem
	if vs == nil || len(vs.VirtualHardware) == 0 || vs.VirtualHardware[0].System == nil || vs.VirtualHardware[0].System.VirtualSystemType == nil {
		return 0
	}
	best := 0
	for _, t := range strings.Fields(*vs.VirtualHardware[0].System.VirtualSystemType) {
		if v, err := strconv.Atoi(strings.TrimPrefix(t, "vmx-")); err == nil && v > best {
			best = v
		}
	}
	return best
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Cleanup removes what Run published unless the whole build succeeded.
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
