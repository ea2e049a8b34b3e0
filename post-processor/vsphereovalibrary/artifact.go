package vsphereovalibrary

import (
	"fmt"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
)

// Artifact is a published library item. Destroy leaves it: the point of the
// post-processor is that it stays.
type Artifact struct {
	Item, ItemID, Version string
	Library, LibraryID    string
	Server                string // vCenter host
	Source                string // the OVA or OVF published
	Created               bool

	source packersdk.Artifact
}

var _ packersdk.Artifact = (*Artifact)(nil)

func (*Artifact) BuilderId() string { return BuilderId }
func (*Artifact) Files() []string   { return nil }
func (a *Artifact) Id() string      { return a.ItemID }
func (a *Artifact) Destroy() error  { return nil }
func (a *Artifact) String() string {
	return fmt.Sprintf("content library item %q (id %s, version %s) in library %q on %s, from %s",
		a.Item, a.ItemID, a.Version, a.Library, a.Server, a.Source)
}

// State carries HCP Packer metadata (one image: the item, in the library)
// and, under "library_item", the item's IDs for later post-processors.
func (a *Artifact) State(name string) interface{} {
	switch name {
	case registryimage.ArtifactStateURI:
		img, err := registryimage.FromArtifact(a,
			registryimage.WithProvider("vsphere"),
			registryimage.WithID(a.ItemID),
			registryimage.WithRegion(a.Server),
			registryimage.WithSourceID(a.Source),
			registryimage.SetLabels(map[string]interface{}{
				"library": a.Library, "library_id": a.LibraryID, "item": a.Item, "version": a.Version, "vcenter_server": a.Server,
			}))
		if err != nil {
			return nil
		}
		return img
	case "library_item":
		return map[string]string{"id": a.ItemID, "name": a.Item, "version": a.Version, "library": a.Library, "library_id": a.LibraryID}
	}
	if a.source != nil {
		return a.source.State(name)
	}
	return nil
}
