package vsphereova

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovftarget"
)

// An OVA as input (an artifice file, another build's OVA, this
// post-processor's own): it is re-targeted like an export folder, read in
// place by ova.PackAll (Options.Source) without an extracted copy; its
// manifest is checked while its members are read.

// fromOVA opens the artifact's single OVA (or the one `ovf` names).
func (p *PostProcessor) fromOVA(artifact packersdk.Artifact, ovas []string) (*packInput, error) {
	path, err := selectFile(ovas, p.config.OVF, ".ova", artifact.BuilderId())
	if err != nil {
		return nil, err
	}
	a, err := ova.OpenArchive(path)
	if err != nil {
		return nil, fmt.Errorf("input OVA: %w", err)
	}
	return &packInput{files: artifact.Files(), nameFrom: path, source: a}, nil
}

// selectFile picks the one file with extension ext, or the one want names.
func selectFile(files []string, want, ext, builderID string) (string, error) {
	if want == "" {
		if len(files) == 1 {
			return files[0], nil
		}
		return "", fmt.Errorf("the input artifact (builder %s) contains %d %s files (%s): set ovf = \"<name>%s\" in the vsphere-ova post-processor to choose one",
			builderID, len(files), ext, strings.Join(files, ", "), ext)
	}
	for _, f := range files {
		if f == want || filepath.Clean(f) == filepath.Clean(want) || filepath.Base(f) == want {
			return f, nil
		}
	}
	return "", fmt.Errorf("ovf = %q: the input artifact (builder %s) has no such file; its %s files are: %s", want, builderID, ext, strings.Join(files, ", "))
}

// descriptor reads the input's descriptor: the .ovf, or the OVA's .ovf
// member, verified against the OVA's manifest when listed there.
func (in *packInput) descriptor() ([]byte, error) {
	if in.source != nil {
		data, err := in.source.DescriptorBytes()
		if err != nil {
			return nil, fmt.Errorf("read the descriptor of the input OVA %s: %w", in.source.Path(), err)
		}
		return data, nil
	}
	data, err := os.ReadFile(in.ovfPath)
	if err != nil {
		return nil, fmt.Errorf("read the artifact's OVF descriptor: %w", err)
	}
	return data, nil
}

// name is the input in messages: the .ovf or the .ova.
func (in *packInput) name() string {
	if in.source != nil {
		return in.source.Path()
	}
	return in.ovfPath
}

// leftOutMembers lists the OVA's members that will not be re-packed: all but
// the descriptor, manifests and signatures (replaced) and referenced files.
func leftOutMembers(a *ova.Archive, refs []ovf.File) []string {
	ref := map[string]bool{a.DescriptorName(): true}
	for _, r := range refs {
		ref[r.Href] = true
	}
	var out []string
	for _, m := range a.Members() {
		ext := strings.ToLower(filepath.Ext(m.Name))
		if !ref[m.Name] && ext != ".mf" && ext != ".cert" {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out
}

// ovaOutputPaths is outputPaths for an OVA input without `output`: the
// default would be the input itself, so every target's OVA is
// `<ova folder>/<ova base name>-<target>.ova`.
func ovaOutputPaths(in string, targets []ovftarget.Target) []string {
	base := strings.TrimSuffix(in, filepath.Ext(in))
	paths := make([]string, len(targets))
	for i, t := range targets {
		paths[i] = base + "-" + string(t) + ".ova"
	}
	return paths
}
