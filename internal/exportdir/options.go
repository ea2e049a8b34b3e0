package exportdir

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// DefaultManifest is the manifest algorithm when export.manifest is empty.
const DefaultManifest = "sha256"

// The checks of the `export {}` options both builders have. Their messages
// name those options, as the user wrote them.

// CheckManifest checks export.manifest (after the default is set).
func CheckManifest(alg string) []error {
	switch alg {
	case "none", "sha1", "sha256", "sha512":
		return nil
	}
	return []error{fmt.Errorf("export.manifest %q: expected none, sha1, sha256 or sha512", alg)}
}

// CheckFolder checks export.name and export.output_directory: the name is a
// file name, and the folder is missing or empty, unless force (export.force
// or packer build -force) allows overwriting.
func CheckFolder(name, dir string, force bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if name == "" {
		errs = append(errs, errors.New("export.name is required"))
	} else if strings.ContainsAny(name, `/\`) {
		add("export.name %q must be a file name, not a path", name)
	}
	if dir == "" {
		errs = append(errs, errors.New("export.output_directory is required"))
	} else if st, err := os.Stat(dir); err == nil && !force {
		if !st.IsDir() {
			add("export.output_directory %q exists and is not a folder", dir)
		} else if ents, _ := os.ReadDir(dir); len(ents) > 0 {
			add("export.output_directory %q exists and is not empty: remove it, or set export.force = true (or run packer build -force)", dir)
		}
	}
	return errs
}
