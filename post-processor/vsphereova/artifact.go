package vsphereova

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Artifact is the OVA and its checksum file.
type Artifact struct {
	Path            string   // the OVA
	ChecksumPath    string   // "<ova>.sha256" or ".sha512"; "" with checksum_algorithm = "none"
	Size            int64    // bytes of the OVA
	Digest          string   // lowercase hex digest of the whole OVA
	DigestAlgorithm string   // "sha256" or "sha512"
	Members         []string // member names in archive order
}

// BuilderId identifies this post-processor's artifacts.
func (*Artifact) BuilderId() string { return BuilderID }

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
