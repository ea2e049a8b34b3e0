package vsphereova

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/disk"
	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// packInput is what PostProcess packs: the artifact's own .ovf, or one
// written for its disks in a work folder.
type packInput struct {
	ovfPath string   // the descriptor to pack
	files   []string // the files the OVA is made from (leftOut reports the others)
	// nameFrom gives the default output: <its folder>/<its base name>.ova.
	// The export's .ovf, or <first disk's folder>/<vm name>.ovf.
	nameFrom string
	// work is the temporary folder holding the generated .ovf and the
	// converted disks; "" for an export.
	work string
	// source is an input OVA, packed in place (input_ova.go); ovfPath is
	// then "".
	source *ova.Archive
}

// cleanup removes the work folder and closes an input OVA, on success,
// failure and cancel alike.
func (in *packInput) cleanup() {
	if in != nil && in.work != "" {
		atomicfile.RemoveTemp(in.work)
	}
	if in != nil && in.source != nil {
		_ = in.source.Close()
	}
}

// selectInput is where PostProcess finds the .ovf to pack. An artifact with
// an .ovf (or a post-processor with `ovf` set) is packed as before. An
// artifact of disks (qemu, file, artifice) or a VMware VM (vmware-iso's
// .vmx and VMDKs) gets an .ovf written from the vm block, beside
// streamOptimized copies of its disks, in a work folder next to the output
// that cleanup removes.
func (p *PostProcessor) selectInput(ctx context.Context, ui packersdk.Ui, artifact packersdk.Artifact) (*packInput, error) {
	files := artifact.Files()
	wantOVA := strings.EqualFold(filepath.Ext(p.config.OVF), ".ova")
	if (p.config.OVF != "" && !wantOVA) || hasOVF(files) {
		ovfPath, err := selectOVF(files, p.config.OVF, artifact.BuilderId())
		if err != nil {
			return nil, err
		}
		if !reflect.DeepEqual(p.config.VM, ovfvm.Config{}) {
			ui.Error(fmt.Sprintf("Warning: the vm block is ignored: the input artifact has its own OVF descriptor (%s), which describes the VM", ovfPath))
		}
		return &packInput{ovfPath: ovfPath, files: files, nameFrom: ovfPath}, nil
	}
	in, err := ovfvm.Classify(files)
	if err != nil {
		return nil, fmt.Errorf("the input artifact (builder %s) contains no .ovf file, and the vsphere-ova post-processor cannot write one for it: %w", artifact.BuilderId(), err)
	}
	if in.Kind == ovfvm.KindOVA {
		in, err := p.fromOVA(artifact, in.OVAs)
		if err == nil && !reflect.DeepEqual(p.config.VM, ovfvm.Config{}) {
			ui.Error(fmt.Sprintf("Warning: the vm block is ignored: the input OVA %s has its own OVF descriptor, which describes the VM", in.nameFrom))
		}
		return in, err
	}
	return p.fromDisks(ctx, ui, artifact, in)
}

func hasOVF(files []string) bool {
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f), ".ovf") {
			return true
		}
	}
	return false
}

// fromDisks converts the artifact's disks to streamOptimized VMDKs and
// writes the .ovf for them from the vm block. The output is checked first,
// so an existing OVA fails the build before minutes of conversion.
func (p *PostProcessor) fromDisks(ctx context.Context, ui packersdk.Ui, artifact packersdk.Artifact, in *ovfvm.Input) (_ *packInput, err error) {
	plan, err := p.config.VM.Resolve(in)
	if err != nil {
		return nil, fmt.Errorf("write the OVF for the input artifact's disks: %w", err)
	}
	ui.Say(fmt.Sprintf("The input artifact (%s) has no OVF: writing one from the vm block for %d disk(s)", in.Kind, len(plan.Disks)))
	for _, f := range in.Ignored {
		ui.Say(fmt.Sprintf("Leaving out %s: %s", f.Path, f.Reason))
	}
	for _, n := range plan.Notes {
		ui.Say("vm: " + n)
	}
	if err := probeGenerate(plan); err != nil {
		return nil, err
	}
	base := fileBase(plan.VM.Name)
	nameFrom := filepath.Join(filepath.Dir(plan.Disks[0].Path), base+".ovf")
	target, err := p.checkOutputs(artifact, nameFrom)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, fmt.Errorf("create the output folder for %s: %w", target, err)
	}
	work, err := atomicfile.MkdirTemp(target)
	if err != nil {
		return nil, fmt.Errorf("create the work folder for the converted disks beside %s: %w", target, err)
	}
	res := &packInput{nameFrom: nameFrom, work: work}
	defer func() {
		if err != nil {
			res.cleanup()
		}
	}()

	opts, err := writeOptions(&plan.VM)
	if err != nil {
		return nil, err
	}
	var disks []ovfvm.Disk
	// The digests of the converted disks, computed while they are written:
	// with them as the work folder's manifest the packer reads each VMDK
	// once instead of twice (hash, then copy).
	mf := &ovf.Manifest{}
	for i, d := range plan.Disks {
		href := ovfvm.DiskHref(plan.VM.Name, i)
		dst := filepath.Join(work, href)
		disk, digest, err := convertDisk(ctx, ui, d.Path, dst, work, opts, p.config.ManifestAlgorithm)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("converting disk %s was cancelled; no OVA was written: %w", d.Path, err)
			}
			return nil, fmt.Errorf("disk %d of vm %q (%s): %w; fix or replace the disk, or leave it out by listing the others in vm.disks", i, plan.VM.Name, d.Path, err)
		}
		disk.Href = href
		disks = append(disks, disk)
		if digest != "" && mf != nil {
			mf.Entries = append(mf.Entries, ovf.ManifestEntry{Algorithm: p.config.ManifestAlgorithm, Name: href, Digest: digest})
		} else {
			mf = nil // a linked disk has no digest yet: the packer computes them all
		}
		res.files = append(res.files, dst)
	}
	desc, err := ovfvm.Generate(&plan.VM, disks)
	if err != nil {
		return nil, fmt.Errorf("write the OVF for the input artifact's disks: %w", err)
	}
	res.ovfPath = filepath.Join(work, base+".ovf")
	if err := os.WriteFile(res.ovfPath, desc, 0o644); err != nil {
		return nil, fmt.Errorf("write the generated OVF: %w", err)
	}
	res.files = append(res.files, res.ovfPath)
	if mf != nil {
		if err := os.WriteFile(filepath.Join(work, base+".mf"), mf.Bytes(), 0o644); err != nil {
			return nil, fmt.Errorf("write the converted disks' manifest: %w", err)
		}
	}
	ui.Say("Wrote the OVF for " + plan.VM.Summary())
	return res, nil
}

// probeGenerate runs Generate on placeholder disks: it checks what Prepare
// cannot (the hardware version against the devices, the disks against the
// controller), so a bad vm block fails before any conversion.
func probeGenerate(plan *ovfvm.Plan) error {
	var probe []ovfvm.Disk
	for i := range plan.Disks {
		probe = append(probe, ovfvm.Disk{Href: ovfvm.DiskHref(plan.VM.Name, i), Size: 1, Capacity: vmdk.SectorSize})
	}
	if _, err := ovfvm.Generate(&plan.VM, probe); err != nil {
		return fmt.Errorf("write the OVF for the input artifact's disks: %w", err)
	}
	return nil
}

// checkOutputs checks every target's output now, before hours of
// conversion, and returns the first (the work folder goes beside it).
func (p *PostProcessor) checkOutputs(artifact packersdk.Artifact, nameFrom string) (string, error) {
	paths, err := p.outputPaths(artifact, nameFrom, p.config.TargetList())
	if err != nil {
		return "", err
	}
	if !(p.config.Force || p.config.PackerForce) {
		for _, path := range paths {
			if _, err := os.Lstat(path); err == nil {
				return "", existsError(path)
			}
		}
	}
	return paths[0], nil
}

// fileBase is name as a file name: DiskHref's rule, without its suffix.
func fileBase(name string) string {
	return strings.TrimSuffix(ovfvm.DiskHref(name, 0), "-disk-0.vmdk")
}

// writeOptions are the VMDK descriptor values vSphere writes for a disk of
// this VM: the adapter type of its controller and its hardware version.
func writeOptions(vm *ovfvm.Config) (vmdk.Options, error) {
	controller := vm.DiskController()
	if controller == "" {
		controller = ovfvm.DefaultDiskController
	}
	hw := vm.HardwareVersion
	if hw == "" {
		hw = ovfvm.DefaultHardwareVersion
	}
	n, err := hardware.ParseVersion(hw)
	if err != nil {
		return vmdk.Options{}, fmt.Errorf("vm.vm_version: %w", err)
	}
	return vmdk.Options{AdapterType: hardware.AdapterTypeFor(controller), HardwareVersion: n}, nil
}

// convertDisk writes the disk at src to dst as a streamOptimized VMDK and
// returns its size, capacity and populated bytes. A streamOptimized VMDK
// already in VMware's layout is linked, not copied: the OVA carries it byte
// for byte. Inputs only qemu-img reads (a qcow2 with a backing file, VHD,
// VDI) go through it to a raw copy in work.
func convertDisk(ctx context.Context, ui packersdk.Ui, src, dst, work string, o vmdk.Options, alg string) (ovfvm.Disk, string, error) {
	d, err := disk.Open(ctx, src, disk.OpenOptions{TempDir: work})
	if err != nil {
		return ovfvm.Disk{}, "", err
	}
	defer d.Close()
	if d.ViaQemuImg {
		ui.Say(fmt.Sprintf("%s: read through qemu-img (the native readers do not take this %s image)", src, d.Format))
	}
	if d.VMwareStream {
		disk, err := linkStream(d, src, dst, ui)
		return disk, "", err
	}
	if d.LayoutProblem != "" {
		ui.Say(fmt.Sprintf("%s is streamOptimized but not in VMware's layout (%s): re-encoding it", src, d.LayoutProblem))
	}
	f, err := os.Create(dst)
	if err != nil {
		return ovfvm.Disk{}, "", err
	}
	defer f.Close()
	ui.Say(fmt.Sprintf("Converting %s (%s, %s) to a streamOptimized VMDK", src, d.Format, progress.Size(d.Size)))
	h, err := ovf.NewHash(alg)
	if err != nil {
		return ovfvm.Disk{}, "", err
	}
	// A plain file, not an exportdir.File: the work folder is read back at
	// once by the packer, so it is neither fsynced nor dropped from the
	// page cache as an export is.
	st, err := exportdir.Encode(ctx, io.MultiWriter(f, h), d.ReaderAt, d.Size, o, ui, "Converting "+filepath.Base(src))
	if err != nil {
		return ovfvm.Disk{}, "", err
	}
	if err := f.Close(); err != nil {
		return ovfvm.Disk{}, "", fmt.Errorf("write %s: %w", dst, err)
	}
	ui.Say(fmt.Sprintf("%s: %s VMDK, %s of data in a %s disk", filepath.Base(src), progress.Size(st.Size), progress.Size(st.PopulatedSize), progress.Size(st.Capacity)))
	return ovfvm.Disk{Size: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize}, hex.EncodeToString(h.Sum(nil)), nil
}

// linkStream puts a VMware-layout streamOptimized VMDK into the work folder
// as a symbolic link: the packer reads it through the link, so a disk that
// needs no conversion is read once, by the packer.
func linkStream(d *disk.Disk, src, dst string, ui packersdk.Ui) (ovfvm.Disk, error) {
	im, ok := d.ReaderAt.(*vmdk.Image)
	if !ok {
		return ovfvm.Disk{}, errors.New("internal error: a streamOptimized disk without its image")
	}
	_, populated, err := im.Allocated()
	if err != nil {
		return ovfvm.Disk{}, err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return ovfvm.Disk{}, err
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return ovfvm.Disk{}, err
	}
	if err := os.Symlink(abs, dst); err != nil {
		return ovfvm.Disk{}, fmt.Errorf("link %s into the work folder: %w", src, err)
	}
	ui.Say(fmt.Sprintf("%s is a streamOptimized VMDK in VMware's layout: packed as it is", src))
	return ovfvm.Disk{Size: fi.Size(), Capacity: d.Size, PopulatedSize: populated}, nil
}

// existsError is the error for an output that exists without force.
func existsError(target string) error {
	return fmt.Errorf("output %s already exists and was left untouched: set force = true in the vsphere-ova post-processor, run `packer build -force`, or choose another output", target)
}
