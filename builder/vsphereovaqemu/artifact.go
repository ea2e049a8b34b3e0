package vsphereovaqemu

import (
	"fmt"
	"os"
	"strings"
)

// Artifact is the exported OVF folder: what the `vsphere-ova`
// post-processor packs into an OVA; with output_format = "ova", the OVA and
// its checksum file.
type Artifact struct {
	name  string
	dir   string
	files []string
	// StateData carries generated_data to post-processors.
	StateData map[string]interface{}
}

func (a *Artifact) BuilderId() string { return BuilderId }

// Files are the export's .ovf, .mf and disks, or its .ova and checksum file.
func (a *Artifact) Files() []string { return a.files }

func (a *Artifact) Id() string { return a.name }

func (a *Artifact) String() string {
	return fmt.Sprintf("exported to %s: %s", a.dir, strings.Join(a.files, ", "))
}

func (a *Artifact) State(name string) interface{} { return a.StateData[name] }

// Destroy removes the exported files and the folder when it is empty.
func (a *Artifact) Destroy() error {
	for _, f := range a.files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	_ = os.Remove(a.dir)
	return nil
}
