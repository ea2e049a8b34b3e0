package vsphereova

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// OVA is one written OVA and its checksum file.
type OVA struct {
	Target          string   // the import target it was made for ("vsphere", ...)
	Path            string   // the OVA
	ChecksumPath    string   // "<ova>.sha256" or ".sha512"; "" with checksum_algorithm = "none"
	Size            int64    // bytes of the OVA
	Digest          string   // lowercase hex digest of the whole OVA
	DigestAlgorithm string   // "sha256" or "sha512"
	Members         []string // member names in archive order
}

// Artifact is the OVAs of one post-processor run, one per target. Its own
// fields describe the first target's OVA, so single-target users (and later
// post-processors reading "ova.path") see what they always saw.
type Artifact struct {
	Path            string   // the (first target's) OVA
	ChecksumPath    string   // "<ova>.sha256" or ".sha512"; "" with checksum_algorithm = "none"
	Size            int64    // bytes of the OVA
	Digest          string   // lowercase hex digest of the whole OVA
	DigestAlgorithm string   // "sha256" or "sha512"
	Members         []string // member names in archive order
	// OVAs lists every target's OVA in the order of `target`, the first
	// being the one the fields above describe.
	OVAs []OVA

	source packersdk.Artifact // the input artifact, for HCP Packer metadata
}

func newArtifact(outs []targetOutput, res []*ova.Result, source packersdk.Artifact) *Artifact {
	a := &Artifact{source: source}
	for i, r := range res {
		a.OVAs = append(a.OVAs, OVA{Target: string(outs[i].target), Path: r.Path, ChecksumPath: r.ChecksumPath,
			Size: r.Size, Digest: r.Digest, DigestAlgorithm: r.DigestAlgorithm, Members: r.Members})
	}
	f := a.OVAs[0]
	a.Path, a.ChecksumPath, a.Size, a.Digest, a.DigestAlgorithm, a.Members = f.Path, f.ChecksumPath, f.Size, f.Digest, f.DigestAlgorithm, f.Members
	return a
}

// all is every OVA; an Artifact built with only the first OVA's fields
// counts as that one.
func (a *Artifact) all() []OVA {
	if len(a.OVAs) == 0 {
		return []OVA{{Target: "vsphere", Path: a.Path, ChecksumPath: a.ChecksumPath, Size: a.Size,
			Digest: a.Digest, DigestAlgorithm: a.DigestAlgorithm, Members: a.Members}}
	}
	return a.OVAs
}

// BuilderId identifies this post-processor's artifacts.
func (*Artifact) BuilderId() string { return BuilderId }

// Files returns every OVA, each followed by its checksum file when written.
func (a *Artifact) Files() []string {
	var files []string
	for _, o := range a.all() {
		files = append(files, o.Path)
		if o.ChecksumPath != "" {
			files = append(files, o.ChecksumPath)
		}
	}
	return files
}

// Id is the (first target's) OVA's path.
func (a *Artifact) Id() string { return a.Path }

func (a *Artifact) String() string {
	all := a.all()
	if len(all) == 1 {
		return fmt.Sprintf("OVA: %s (%s %s)", a.Path, a.DigestAlgorithm, a.Digest)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d OVAs, one per target:", len(all))
	for _, o := range all {
		fmt.Fprintf(&b, "\n  %s: %s (%s %s)", o.Target, o.Path, o.DigestAlgorithm, o.Digest)
	}
	return b.String()
}

// State exposes the OVA digest to later post-processors: "ova.digest",
// "ova.digest_algorithm", "ova.path", "ova.checksum_path", "ova.size" (of
// the first target's OVA) and "ova.paths" (target -> OVA path, every
// target).
func (a *Artifact) State(name string) interface{} {
	switch name {
	case "ova.paths":
		m := map[string]string{}
		for _, o := range a.all() {
			m[o.Target] = o.Path
		}
		return m
	case registryimage.ArtifactStateURI:
		return a.registryImage()
	case "ova.digest":
		return a.Digest
	case "ova.digest_algorithm":
		return a.DigestAlgorithm
	case "ova.path":
		return a.Path
	case "ova.checksum_path":
		return a.ChecksumPath
	case "ova.size":
		return a.Size
	}
	return nil
}

// Destroy removes every OVA and checksum file; files already gone are fine.
func (a *Artifact) Destroy() error {
	var errs []error
	for _, f := range a.Files() {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", f, err))
		}
	}
	return errors.Join(errs...)
}

// registryImage is what Packer sends to an HCP Packer registry for builds with
// hcp_packer_registry. Post-processors pass their input's image on (as
// Packer's vSphere post-processors do) so the registry keeps the VM's
// provider and region, and add the OVA's path and digest as labels; an input
// without registry metadata (artifice, a foreign builder) gets provider "ova"
// with the OVA's digest as its ID. The ova_* labels describe the first
// target's OVA; with several targets, ova_targets lists them and
// ova_<target>_path, _digest and _size describe each (Packer merges all
// labels of a build into one map, so per-OVA labels need their own keys).
func (a *Artifact) registryImage() *registryimage.Image {
	labels := map[string]interface{}{
		"ova_path":             a.Path,
		"ova_digest":           a.Digest,
		"ova_digest_algorithm": a.DigestAlgorithm,
		"ova_size":             fmt.Sprint(a.Size),
	}
	if all := a.all(); len(all) > 1 {
		var names []string
		for _, o := range all {
			names = append(names, o.Target)
			labels["ova_"+o.Target+"_path"] = o.Path
			labels["ova_"+o.Target+"_digest"] = o.Digest
			labels["ova_"+o.Target+"_size"] = fmt.Sprint(o.Size)
		}
		labels["ova_targets"] = strings.Join(names, ",")
	}
	if a.source != nil {
		if img, ok := a.source.State(registryimage.ArtifactStateURI).(*registryimage.Image); ok && img != nil {
			out := *img
			out.Labels = map[string]string{}
			for k, v := range img.Labels {
				out.Labels[k] = v
			}
			for k, v := range labels {
				out.Labels[k] = v.(string)
			}
			return &out
		}
	}
	img, err := registryimage.FromArtifact(a,
		registryimage.WithID(a.DigestAlgorithm+":"+a.Digest),
		registryimage.WithProvider("ova"),
		registryimage.SetLabels(labels),
	)
	if err != nil { // only for a nil artifact
		return nil
	}
	return img
}
