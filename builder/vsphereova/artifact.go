package vsphereova

import (
	"fmt"
	"os"
	"strings"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
)

// Artifact is the exported OVF folder (when `export {}` is set) and/or the
// kept VM or template.
type Artifact struct {
	name     string
	kept     bool
	dir      string
	files    []string
	registry *registryInfo // nil when the build never got that far
	// StateData carries generated_data to post-processors.
	StateData map[string]interface{}
}

func (a *Artifact) BuilderId() string { return BuilderId }

// Files are the export's .ovf, .mf and disks: exactly what the `vsphere-ova`
// post-processor packs into an OVA; with output_format = "ova", the OVA and
// its checksum file, which it re-targets.
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

// State returns generated_data, and for registryimage.ArtifactStateURI the
// image that Packer sends to an HCP Packer registry (with
// hcp_packer_registry in the build), as Packer's vSphere builders do:
// provider "vsphere", the VM name as image ID, the datacenter as region.
func (a *Artifact) State(name string) interface{} {
	if name == registryimage.ArtifactStateURI {
		return a.registryImage()
	}
	return a.StateData[name]
}

func (a *Artifact) registryImage() *registryimage.Image {
	labels := map[string]interface{}{"kept": fmt.Sprint(a.kept)}
	region := ""
	if a.registry != nil {
		region = a.registry.Region
		for k, v := range a.registry.Labels {
			labels[k] = v
		}
	}
	if a.dir != "" {
		labels["export_directory"] = a.dir
		for _, f := range a.files {
			if strings.HasSuffix(f, ".ovf") {
				labels["export_ovf"] = f
			}
			if strings.HasSuffix(f, ".ova") {
				labels["export_ova"] = f
			}
		}
	}
	img, err := registryimage.FromArtifact(a,
		registryimage.WithID(a.name),
		registryimage.WithProvider("vsphere"),
		registryimage.WithRegion(region),
		registryimage.SetLabels(labels),
	)
	if err != nil { // only for a nil artifact
		return nil
	}
	return img
}

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
