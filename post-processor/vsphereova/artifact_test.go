package vsphereova

import (
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
)

// stubInput stands in for a builder artifact that carries HCP Packer metadata.
type stubInput struct {
	packersdk.Artifact
	img *registryimage.Image
}

func (s stubInput) State(name string) interface{} {
	if name == registryimage.ArtifactStateURI {
		return s.img
	}
	return nil
}

func TestRegistryImage(t *testing.T) {
	a := &Artifact{Path: "/dist/app.ova", Digest: "abc", DigestAlgorithm: "sha256", Size: 42}
	img, ok := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if !ok || img == nil {
		t.Fatalf("no registry image from an input without metadata: %#v", a.State(registryimage.ArtifactStateURI))
	}
	if img.ProviderName != "ova" || img.ImageID != "sha256:abc" || img.Labels["ova_path"] != "/dist/app.ova" || img.Labels["ova_size"] != "42" {
		t.Errorf("image without input metadata: %+v", img)
	}

	in := &registryimage.Image{ImageID: "appliance", ProviderName: "vsphere", ProviderRegion: "dc1",
		Labels: map[string]string{"num_cpu": "4"}}
	a.source = stubInput{img: in}
	img = a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if img.ProviderName != "vsphere" || img.ImageID != "appliance" || img.ProviderRegion != "dc1" {
		t.Errorf("the input's image was not passed on: %+v", img)
	}
	if img.Labels["num_cpu"] != "4" || img.Labels["ova_digest"] != "abc" || img.Labels["ova_digest_algorithm"] != "sha256" {
		t.Errorf("labels: %v", img.Labels)
	}
	if _, leaked := in.Labels["ova_digest"]; leaked {
		t.Error("the input artifact's labels were modified")
	}
}
