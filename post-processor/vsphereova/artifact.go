package vsphereova

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
)

// Artifact is the OVA and its checksum file.
type Artifact struct {
	Path            string   // the OVA
	ChecksumPath    string   // "<ova>.sha256" or ".sha512"; "" with checksum_algorithm = "none"
	Size            int64    // bytes of the OVA
	Digest          string   // lowercase hex digest of the whole OVA
	DigestAlgorithm string   // "sha256" or "sha512"
	Members         []string // member names in archive order

	source packersdk.Artifact // the input artifact, for HCP Packer metadata
}

// BuilderId identifies this post-processor's artifacts.
func (*Artifact) BuilderId() string { return BuilderId }

// Files returns the OVA and, when written, its checksum file.
func (a *Artifact) Files() []string {
	if a.ChecksumPath == "" {
		return []string{a.Path}
	}
	return []string{a.Path, a.ChecksumPath}
}

// Id is the OVA's path.
func (a *Artifact) Id() string { return a.Path }

func (a *Artifact) String() string {
	return fmt.Sprintf("OVA: %s (%s %s)", a.Path, a.DigestAlgorithm, a.Digest)
}

// State exposes the OVA digest to later post-processors: "ova.digest",
// "ova.digest_algorithm", "ova.path", "ova.checksum_path", "ova.size".
func (a *Artifact) State(name string) interface{} {
	switch name {
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

// Destroy removes the OVA and its checksum file; files already gone are fine.
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
// with the OVA's digest as its ID.
func (a *Artifact) registryImage() *registryimage.Image {
	labels := map[string]interface{}{
		"ova_path":             a.Path,
		"ova_digest":           a.Digest,
		"ova_digest_algorithm": a.DigestAlgorithm,
		"ova_size":             fmt.Sprint(a.Size),
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
