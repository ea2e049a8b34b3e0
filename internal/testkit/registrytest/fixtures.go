package registrytest

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Layer returns a generated gzip'd tar layer of about size bytes of random
// content (a stand-in for real image content, which we cannot download here).
func Layer(t testing.TB, size int64, oci bool) v1.Layer {
	t.Helper()
	mt := types.DockerLayer
	if oci {
		mt = types.OCILayer
	}
	l, err := random.Layer(size, mt)
	if err != nil {
		t.Fatalf("generating a layer: %v", err)
	}
	return l
}

// Image builds an image for os/arch from layers, as an OCI image when oci is
// set, else as a Docker schema 2 image.
func Image(t testing.TB, os, arch string, oci bool, layers ...v1.Layer) v1.Image {
	t.Helper()
	base := empty.Image
	if oci {
		base = mutate.MediaType(base, types.OCIManifestSchema1)
		base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	}
	cf, err := base.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = os, arch
	cf.Config.Cmd = []string{"/bin/true"}
	img, err := mutate.ConfigFile(base, cf)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layers...); err != nil {
		t.Fatalf("building an image: %v", err)
	}
	return img
}

// Fixtures are the images PushFixtures put in a registry.
type Fixtures struct {
	// Multi is a multi-arch OCI index (linux/amd64 + linux/arm64).
	Multi       string
	MultiDigest v1.Hash
	// MultiAmd64 and MultiArm64 are the digests of its two image manifests;
	// MultiArm64Config and MultiArm64Layer those of the arm64 image's blobs.
	MultiAmd64, MultiArm64            v1.Hash
	MultiArm64Config, MultiArm64Layer v1.Hash
	// AppA (Docker schema 2) and AppB (OCI) share their first layer.
	AppA, AppB             string
	AppADigest, AppBDigest v1.Hash
	Shared                 v1.Hash
	// Arm64Only is a single-platform linux/arm64 image.
	Arm64Only string
}

// PushFixtures generates and pushes the standard test images: a multi-arch
// index and two images sharing a layer, each layer about layerSize bytes.
func PushFixtures(t testing.TB, r *Registry, layerSize int64) *Fixtures {
	t.Helper()
	f := &Fixtures{}
	amd := Image(t, "linux", "amd64", true, Layer(t, layerSize, true))
	armLayer := Layer(t, layerSize, true)
	arm := Image(t, "linux", "arm64", true, armLayer)
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	idx = mutate.AppendManifests(idx,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	f.Multi, f.MultiDigest = r.PushIndex(t, "multi:1.0", idx)
	var err error
	if f.MultiAmd64, err = amd.Digest(); err != nil {
		t.Fatal(err)
	}
	if f.MultiArm64, err = arm.Digest(); err != nil {
		t.Fatal(err)
	}
	if f.MultiArm64Config, err = arm.ConfigName(); err != nil {
		t.Fatal(err)
	}
	if f.MultiArm64Layer, err = armLayer.Digest(); err != nil {
		t.Fatal(err)
	}

	shared := Layer(t, layerSize, false)
	if f.Shared, err = shared.Digest(); err != nil {
		t.Fatal(err)
	}
	f.AppA, f.AppADigest = r.PushImage(t, "team/app-a:1.0", Image(t, "linux", "amd64", false, shared, Layer(t, layerSize/4, false)))
	f.AppB, f.AppBDigest = r.PushImage(t, "team/app-b:2.0", Image(t, "linux", "amd64", true, shared, Layer(t, layerSize/4, true)))
	f.Arm64Only, _ = r.PushImage(t, "armonly:1.0", Image(t, "linux", "arm64", true, Layer(t, 1024, true)))
	return f
}
