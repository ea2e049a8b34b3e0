package vsphereovaqemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// workDisk is the build's working copy of one OVF disk.
type workDisk struct {
	Path string
	Size int64 // virtual size in bytes, after growing
}

// stepDecodeDisks decodes every streamOptimized disk straight out of the
// source (a section of the OVA, its manifest digest checked at EOF) into a
// raw sparse working copy in the build's working folder (workdir.go), then
// grows it to disk_size/disk_sizes. The folder's file system must have room
// for the disks' data, checked before anything is decoded.
//
// Raw, not qcow2: the decoder yields the disk front to back, and a raw file
// takes it with plain writes, skipping all-zero blocks so they stay holes.
// qemu-img cannot read a stream (it needs to seek its input), so qcow2
// would mean a second full copy or our own qcow2 writer. A sparse raw
// file costs only the allocated blocks, QEMU runs it as fast as qcow2, the
// guest's discards punch holes back (discard=unmap), growing is a truncate,
// and the export reads it with SEEK_DATA so holes are never compressed.
type stepDecodeDisks struct {
	hw *HardwareConfig
	// parent is where the working folder is made (workParent; "" for
	// TMPDIR), where the option that chose it, for errors.
	parent, where string
	dir           string
}

// newStepDecodeDisks is the step for c: working folder in
// working_directory, else beside output_directory.
func newStepDecodeDisks(c *Config) *stepDecodeDisks {
	where := fmt.Sprintf("beside output_directory %q", c.Export.OutputDir)
	if c.WorkingDirectory != "" {
		where = "working_directory"
	}
	return &stepDecodeDisks{hw: &c.HardwareConfig, parent: workParent(&c.QEMUConfig, c.Export.OutputDir), where: where}
}

// readBuffer is how much of the OVA member each read takes.
const readBuffer = 1 << 20

func (s *stepDecodeDisks) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	src := state.Get("source").(*ovasource.Source)
	m := state.Get("ovf_machine").(*ovfMachine)
	for i := len(m.Disks); i < len(s.hw.DiskSizes); i++ {
		if s.hw.DiskSizes[i] > 0 {
			return halt(state, fmt.Errorf("disk_sizes has %d entries but the OVF has %d disks", len(s.hw.DiskSizes), len(m.Disks)))
		}
	}
	dir, err := s.workFolder(ui, diskNeed(m, src))
	if err != nil {
		return halt(state, err)
	}
	s.dir = dir
	state.Put("work_dir", dir)
	ui.Say(fmt.Sprintf("Working disks in %s (removed at the end; kept with -on-error=abort until the next build)", dir))
	var disks []workDisk
	for i, d := range m.Disks {
		p := filepath.Join(dir, fmt.Sprintf("disk-%d.raw", i))
		size, err := decodeDisk(ctx, ui, src, d.Href, p)
		if err != nil {
			return halt(state, fmt.Errorf("decoding disk %d (%s) of %s: %w", i, d.Href, src.OVFName, err))
		}
		if want := s.hw.DiskSizeMiB(i) << 20; want > 0 {
			if want < size {
				return halt(state, fmt.Errorf("disk %d is %d MiB; %s = %d MiB would shrink it: disks only grow", i, size>>20, sizeOption(i), want>>20))
			}
			if want > size {
				if err := os.Truncate(p, want); err != nil {
					return halt(state, fmt.Errorf("growing disk %d to %d MiB: %w", i, want>>20, err))
				}
				ui.Say(fmt.Sprintf("Disk %d grown from %d to %d MiB", i, size>>20, want>>20))
				size = want
			}
		}
		disks = append(disks, workDisk{Path: p, Size: size})
	}
	state.Put("work_disks", disks)
	return multistep.ActionContinue
}

// workFolder removes stale work in the parent folder, checks its room for
// need bytes, and makes the build's working folder there.
func (s *stepDecodeDisks) workFolder(ui packersdk.Ui, need int64) (string, error) {
	parent, where := s.parent, s.where
	if parent == "" {
		parent, where = os.TempDir(), "TMPDIR"
	}
	if abs, err := filepath.Abs(parent); err == nil {
		parent = abs
	}
	removeStaleWork(ui, parent)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("creating the folder for the build's working files (%s): %w (set working_directory to a writable folder)", where, err)
	}
	if err := checkSpace(parent, where, need); err != nil {
		return "", err
	}
	return makeWorkDir(parent)
}

func sizeOption(i int) string {
	if i == 0 {
		return "disk_size"
	}
	return fmt.Sprintf("disk_sizes[%d]", i)
}

// decodeDisk writes the raw disk of the streamOptimized VMDK href into
// path, sparse, and returns its virtual size. vmdk.DecodeTo inflates the
// grains on every core while the member is read (and its digest computed)
// once, in order.
func decodeDisk(ctx context.Context, ui packersdk.Ui, src *ovasource.Source, href, path string) (size int64, err error) {
	rc, n, err := src.OpenFile(href)
	if err != nil {
		return 0, err
	}
	body := progress.Track(ui, "decode "+href, n, rc)
	defer body.Close()
	// The decoder reads a sector-sized marker, then the grain behind it:
	// buffered, the member is read (and hashed) in large pieces.
	br := bufio.NewReaderSize(body, readBuffer)
	sr, err := vmdk.NewStreamReader(br)
	if err != nil {
		err = fmt.Errorf("%w (the builder reads streamOptimized VMDKs, as vSphere exports them)", err)
		return 0, src.ExplainReadError(ctx, href, br, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := sr.DecodeTo(ctx, f, vmdk.DecodeOptions{}); err != nil {
		return 0, src.ExplainReadError(ctx, href, br, err)
	}
	// Drain the member to its end, so the OVA's manifest digest (checked at
	// EOF) covers the whole file and a corrupt tail fails the build.
	if _, err := ctxio.Copy(ctx, io.Discard, br); err != nil {
		return 0, err
	}
	return sr.Size(), f.Truncate(sr.Size())
}

// Cleanup removes the working disks, which are never an output; with
// -on-error=abort Packer skips it and they stay where Run said.
func (s *stepDecodeDisks) Cleanup(state multistep.StateBag) {
	if s.dir == "" {
		return
	}
	if err := atomicfile.RemoveTemp(s.dir); err != nil {
		state.Get("ui").(packersdk.Ui).Error(fmt.Sprintf("removing the working disks: %v", err))
	}
	s.dir = ""
}
