package vsphereova

import (
	"fmt"
	"os"
	"strings"
)

// Artifact is the exported OVF folder (when `export {}` is set) and/or the
// kept VM or template.
type Artifact struct {
	name  string
	kept  bool
	dir   string
	files []string
	// StateData carries generated_data to post-processors.
	StateData map[string]interface{}
}

func (a *Artifact) BuilderId() string { return BuilderId }

// Files are the export's .ovf, .mf and disks: exactly what the `vsphere-ova`
// post-processor packs into an OVA.
func (a *Artifact) Files() []string { return a.files }

func (a *Artifact) Id() string { return a.name }

func (a *Artifact) String() string {
	var parts []string
	if a.dir != "" {
		parts = append(parts, fmt.Sprintf("exported to %s: %s", a.dir, strings.Join(a.files, ", ")))
	}
	if a.kept {
		parts = append(parts, fmt.Sprintf("VM %q kept in vSphere", a.name))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("VM %q built and destroyed (no export {} block, keep_vm not set)", a.name)
	}
	return strings.Join(parts, "; ")
}

func (a *Artifact) State(name string) interface{} { return a.StateData[name] }

// Destroy removes the exported files (a kept VM stays: it lives in vSphere).
func (a *Artifact) Destroy() error {
	for _, f := range a.files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if a.dir != "" {
		_ = os.Remove(a.dir)
	}
	return nil
}
