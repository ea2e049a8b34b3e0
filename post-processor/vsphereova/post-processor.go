// Package vsphereova is the `vsphere-ova` post-processor: it packs the .ovf
// of an upstream artifact (a vsphere-clone/vsphere-iso export, artifice, or
// this plugin's builder) and the files it references into an OVA, with a
// manifest and a checksum file, one per import target. An artifact of disks
// without an .ovf (qemu, vmware-iso, file, artifice) gets one written from
// the vm block, beside streamOptimized copies of its disks (input_disks.go).
// The packing itself is ova.PackAll; the per-target descriptors come from
// package ovftarget.
package vsphereova

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/cpuprofile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// BuilderId identifies artifacts made by this post-processor.
const BuilderId = "ovakit.vsphere-ova.post-processor"

// PostProcessor packs an exported OVF into one OVA per import target.
type PostProcessor struct {
	config Config
}

// ConfigSpec returns the HCL2 spec of Config.
func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Configure decodes and validates the configuration.
func (p *PostProcessor) Configure(raws ...interface{}) error {
	return p.config.Prepare(raws...)
}

// PostProcess packs the artifact's .ovf into an OVA per target: select the
// export's .ovf, customize its descriptor per target (targets.go), then one
// ova.PackAll for all of them. It returns keep=true and
// forceOverride=false: Packer keeps the input artifact unless the template
// sets keep_input_artifact = false (a vSphere export's Destroy deletes the
// export folder and the VM, so dropping it must be the user's choice).
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, artifact packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	in, err := p.selectInput(ctx, ui, artifact)
	if err != nil {
		return nil, true, false, err
	}
	defer in.cleanup()
	data, err := in.descriptor()
	if err != nil {
		return nil, true, false, err
	}
	desc, err := ovf.Parse(data)
	if err != nil {
		return nil, true, false, fmt.Errorf("OVF descriptor %s: %w", in.name(), err)
	}
	left := leftOut(in.files, in.ovfPath, desc.Files())
	if in.source != nil {
		left = leftOutMembers(in.source, desc.Files())
	}
	if len(left) > 0 {
		ui.Say(fmt.Sprintf("Leaving out %d file(s) of the input artifact that %s does not reference: %s",
			len(left), filepath.Base(in.name()), strings.Join(left, ", ")))
	}

	targets := p.config.TargetList()
	paths, err := p.outputPaths(artifact, in.nameFrom, targets)
	if err != nil {
		return nil, true, false, err
	}
	if in.source != nil && p.config.OutputPath == "" {
		paths = ovaOutputPaths(in.nameFrom, targets)
	}
	force := p.config.Force || p.config.PackerForce
	if !force {
		for _, path := range paths {
			if _, err := os.Lstat(path); err == nil {
				return nil, true, false, existsError(path)
			}
		}
	}
	outs, err := p.customizeTargets(ui, data, targets, paths)
	if err != nil {
		return nil, true, false, err
	}
	modTime, err := p.modTime()
	if err != nil {
		return nil, true, false, err
	}
	res, err := p.pack(ctx, ui, in, outs, force, modTime)
	if err != nil {
		return nil, true, false, err
	}
	return newArtifact(outs, res, artifact), true, false, nil
}

// modTime is the members' modification time for a reproducible OVA, or nil.
func (p *PostProcessor) modTime() (*time.Time, error) {
	if !p.config.Reproducible && os.Getenv("SOURCE_DATE_EPOCH") == "" {
		return nil, nil
	}
	modTime, err := ova.SourceDateEpoch()
	if err != nil {
		return nil, fmt.Errorf("reproducible OVA: %w", err)
	}
	if modTime == nil {
		zero := time.Unix(0, 0).UTC()
		modTime = &zero
	}
	return modTime, nil
}

// pack writes every target's OVA with one ova.PackAll: each disk byte is
// read once for all of them, and either all OVAs appear or none does.
func (p *PostProcessor) pack(ctx context.Context, ui packersdk.Ui, in *packInput, outs []targetOutput, force bool, modTime *time.Time) ([]*ova.Result, error) {
	ovfPath := in.name()
	var outputs []ova.Output
	var names []string
	for _, o := range outs {
		if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
			return nil, fmt.Errorf("create the output folder for %s: %w", o.Path, err)
		}
		outputs = append(outputs, o.Output)
		names = append(names, o.Path)
	}
	into := strings.Join(names, ", ")
	if len(outs) > 1 {
		var per []string
		for _, o := range outs {
			per = append(per, fmt.Sprintf("%s (%s)", o.Path, o.target))
		}
		into = strings.Join(per, ", ")
	}
	ui.Say(fmt.Sprintf("Packing %s into %s (manifest %s, checksum %s)",
		ovfPath, into, p.config.ManifestAlgorithm, p.config.ChecksumAlgorithm))
	stopProfile := cpuprofile.Start(ui.Error)
	res, err := ova.PackAll(ctx, ova.Options{
		OVFPath:           in.ovfPath,
		Source:            in.source,
		Outputs:           outputs,
		ManifestAlgorithm: p.config.ManifestAlgorithm,
		ChecksumAlgorithm: p.config.ChecksumAlgorithm,
		Force:             force,
		ModTime:           modTime,
		Progress:          ui,
		Logf:              func(format string, args ...any) { ui.Say(fmt.Sprintf(format, args...)) },
	})
	stopProfile()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("packing %s was cancelled; no OVA was written: %w", into, err)
		}
		return nil, fmt.Errorf("pack %s into %s: %w", ovfPath, into, err)
	}
	for _, f := range res[0].SizeFixes {
		ui.Error(fmt.Sprintf("Warning: %s is %d bytes but the OVF declared ovf:size=\"%d\"; the descriptor inside the OVA was corrected",
			f.Href, f.Actual, f.Declared))
	}
	if res[0].ReusedManifest {
		ui.Say("Used and verified the digests of the export's own manifest (each disk byte read once)")
	}
	for i, r := range res {
		line := summary(r)
		if len(res) > 1 {
			line += " (target " + string(outs[i].target) + ")"
		}
		ui.Say(line)
	}
	return res, nil
}

// summary is the one line users look for: where, how big, which digest.
func summary(res *ova.Result) string {
	s := fmt.Sprintf("OVA: %s (%s), %s:%s", res.Path, progress.Size(res.Size), res.DigestAlgorithm, res.Digest)
	if res.ChecksumPath != "" {
		s += ", checksum file " + res.ChecksumPath
	}
	return s
}

// selectOVF picks the .ovf among the artifact's files: the only one, or the
// one named by want (file name or path).
func selectOVF(files []string, want, builderID string) (string, error) {
	var ovfs []string
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f), ".ovf") {
			ovfs = append(ovfs, f)
		}
	}
	list := func() string {
		if len(files) == 0 {
			return "no files"
		}
		return strings.Join(files, ", ")
	}
	if want != "" {
		var match []string
		for _, f := range ovfs {
			if f == want || filepath.Clean(f) == filepath.Clean(want) || filepath.Base(f) == want {
				match = append(match, f)
			}
		}
		switch len(match) {
		case 1:
			return match[0], nil
		case 0:
			return "", fmt.Errorf("ovf = %q: the input artifact (builder %s) has no such .ovf; its files are: %s", want, builderID, list())
		default:
			return "", fmt.Errorf("ovf = %q matches %d files of the input artifact (%s): give the full path", want, len(match), strings.Join(match, ", "))
		}
	}
	switch len(ovfs) {
	case 1:
		return ovfs[0], nil
	case 0:
		return "", fmt.Errorf("the input artifact (builder %s) contains no .ovf file, so there is nothing to pack; "+
			"use a vsphere-clone/vsphere-iso build with an export {} block, or artifice with files = [...the .ovf and its disks...]; its files are: %s",
			builderID, list())
	default:
		return "", fmt.Errorf("the input artifact (builder %s) contains %d .ovf files (%s): set ovf = \"<name>.ovf\" in the vsphere-ova post-processor to choose one",
			builderID, len(ovfs), strings.Join(ovfs, ", "))
	}
}

// leftOut lists the artifact's files that will not go into the OVA: files the
// descriptor does not reference, except the .ovf itself and .mf manifests
// (which are replaced, not dropped).
func leftOut(files []string, ovfPath string, refs []ovf.File) []string {
	dir := filepath.Clean(filepath.Dir(ovfPath))
	ref := map[string]bool{}
	for _, r := range refs {
		ref[r.Href] = true
	}
	var out []string
	for _, f := range files {
		switch {
		case filepath.Clean(f) == filepath.Clean(ovfPath),
			strings.EqualFold(filepath.Ext(f), ".mf"):
			continue
		case filepath.Clean(filepath.Dir(f)) == dir && ref[filepath.Base(f)]:
			continue
		}
		if fi, err := os.Stat(f); err == nil && fi.IsDir() {
			continue
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
