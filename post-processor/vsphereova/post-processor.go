// Package vsphereova is the `vsphere-ova` post-processor: it packs the .ovf
// of an upstream artifact (a vsphere-clone/vsphere-iso export, artifice, or
// this plugin's builder) and the files it references into an OVA, with a
// manifest and a checksum file. An artifact of disks without an .ovf
// (qemu, vmware-iso, file, artifice) gets one written from the vm block,
// beside streamOptimized copies of its disks (input_disks.go). The packing
// itself is ova.Pack.
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

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// BuilderId identifies artifacts made by this post-processor.
const BuilderId = "ovakit.vsphere-ova.post-processor"

// PostProcessor packs an exported OVF into an OVA.
type PostProcessor struct {
	config Config
}

// ConfigSpec returns the HCL2 spec of Config.
func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Configure decodes and validates the configuration.
func (p *PostProcessor) Configure(raws ...interface{}) error {
	return p.config.Prepare(raws...)
}

// PostProcess packs the artifact's .ovf into an OVA. It returns keep=true and
// forceOverride=false: Packer keeps the input artifact unless the template
// sets keep_input_artifact = false (a vSphere export's Destroy deletes the
// export folder and the VM, so dropping it must be the user's choice).
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, artifact packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	in, err := p.selectInput(ctx, ui, artifact)
	if err != nil {
		return nil, true, false, err
	}
	defer in.cleanup()
	ovfPath, files := in.ovfPath, in.files
	data, err := os.ReadFile(ovfPath)
	if err != nil {
		return nil, true, false, fmt.Errorf("read the artifact's OVF descriptor: %w", err)
	}
	desc, err := ovf.Parse(data)
	if err != nil {
		return nil, true, false, fmt.Errorf("OVF descriptor %s: %w", ovfPath, err)
	}
	if left := leftOut(files, ovfPath, desc.Files()); len(left) > 0 {
		ui.Say(fmt.Sprintf("Leaving out %d file(s) of the input artifact that %s does not reference: %s",
			len(left), filepath.Base(ovfPath), strings.Join(left, ", ")))
	}

	target, err := p.outputPath(artifact, in.nameFrom)
	if err != nil {
		return nil, true, false, err
	}
	force := p.config.Force || p.config.PackerForce
	if !force {
		if _, err := os.Lstat(target); err == nil {
			return nil, true, false, existsError(target)
		}
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return nil, true, false, fmt.Errorf("create the output folder for %s: %w", target, err)
	}

	var modTime *time.Time
	if p.config.Reproducible || os.Getenv("SOURCE_DATE_EPOCH") != "" {
		modTime, err = ova.SourceDateEpoch()
		if err != nil {
			return nil, true, false, fmt.Errorf("reproducible OVA: %w", err)
		}
		if modTime == nil {
			zero := time.Unix(0, 0).UTC()
			modTime = &zero
		}
	}

	ui.Say(fmt.Sprintf("Packing %s into %s (manifest %s, checksum %s)",
		ovfPath, target, p.config.ManifestAlgorithm, p.config.ChecksumAlgorithm))
	stopProfile := cpuprofile.Start(ui.Error)
	res, err := ova.Pack(ctx, ova.Options{
		OVFPath:           ovfPath,
		Output:            target,
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
			return nil, true, false, fmt.Errorf("packing %s was cancelled; no OVA was written: %w", target, err)
		}
		return nil, true, false, fmt.Errorf("pack %s into %s: %w", ovfPath, target, err)
	}
	for _, f := range res.SizeFixes {
		ui.Error(fmt.Sprintf("Warning: %s is %d bytes but the OVF declared ovf:size=\"%d\"; the descriptor inside the OVA was corrected",
			f.Href, f.Actual, f.Declared))
	}
	if res.ReusedManifest {
		ui.Say("Used and verified the digests of the export's own manifest (each disk byte read once)")
	}
	ui.Say(summary(res))
	return &Artifact{Path: res.Path, ChecksumPath: res.ChecksumPath, Size: res.Size,
		Digest: res.Digest, DigestAlgorithm: res.DigestAlgorithm, Members: res.Members,
		source: artifact}, true, false, nil
}

// summary is the one line users look for: where, how big, which digest.
func summary(res *ova.Result) string {
	s := fmt.Sprintf("OVA: %s (%s), %s:%s", res.Path, humanSize(res.Size), res.DigestAlgorithm, res.Digest)
	if res.ChecksumPath != "" {
		s += ", checksum file " + res.ChecksumPath
	}
	return s
}

func (p *PostProcessor) outputPath(artifact packersdk.Artifact, ovfPath string) (string, error) {
	if p.config.OutputPath == "" {
		return strings.TrimSuffix(ovfPath, filepath.Ext(ovfPath)) + ".ova", nil
	}
	data := map[interface{}]interface{}{}
	if gd, ok := artifact.State("generated_data").(map[interface{}]interface{}); ok {
		for k, v := range gd {
			data[k] = v
		}
	}
	data["BuildName"] = p.config.PackerBuildName
	data["BuilderType"] = p.config.PackerBuilderType
	ictx := p.config.ctx
	ictx.Data = data
	target, err := interpolate.Render(p.config.OutputPath, &ictx)
	if err != nil {
		return "", fmt.Errorf("output %q: %w", p.config.OutputPath, err)
	}
	if strings.TrimSpace(target) == "" {
		return "", fmt.Errorf("output %q renders to an empty path: give a file name such as \"{{.BuildName}}.ova\"", p.config.OutputPath)
	}
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		return "", fmt.Errorf("output %s is a folder: give the OVA's file name, e.g. %q", target, filepath.Join(target, filepath.Base(strings.TrimSuffix(ovfPath, filepath.Ext(ovfPath)))+".ova"))
	}
	return target, nil
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

// humanSize formats n bytes with binary units, as `ls -lh` does.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
