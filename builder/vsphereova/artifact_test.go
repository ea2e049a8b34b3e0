package vsphereova

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"
)

// State(registryimage.ArtifactStateURI) is what Packer sends to an HCP Packer
// registry: the image must validate, and carry where and what was built.
func TestArtifactRegistryImage(t *testing.T) {
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "app-disk-0.vmdk"), filepath.Join(dir, "app.ovf"), filepath.Join(dir, "app.mf")}
	a := &Artifact{
		name: "app-vm", dir: dir, files: files,
		registry:  &registryInfo{Region: "DC1", Labels: map[string]string{"num_cpu": "6", "datastore": "ssd"}},
		StateData: map[string]interface{}{"generated_data": map[string]interface{}{"Host": "10.0.0.1"}},
	}
	img, ok := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if !ok {
		t.Fatalf("State(%q) = %T, want *image.Image", registryimage.ArtifactStateURI, a.State(registryimage.ArtifactStateURI))
	}
	if err := img.Validate(); err != nil {
		t.Fatal(err)
	}
	if img.ProviderName != "vsphere" || img.ImageID != "app-vm" || img.ProviderRegion != "DC1" {
		t.Errorf("image = %s", img)
	}
	for k, v := range map[string]string{"num_cpu": "6", "datastore": "ssd", "kept": "false", "export_directory": dir, "export_ovf": files[1]} {
		if img.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, img.Labels[k], v, img.Labels)
		}
	}
	if gd, ok := a.State("generated_data").(map[string]interface{}); !ok || gd["Host"] != "10.0.0.1" {
		t.Errorf("generated_data = %v", a.State("generated_data"))
	}

	// A kept VM without export: still an image, by VM name.
	k := &Artifact{name: "golden", kept: true}
	img = k.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if img.Validate() != nil || img.ImageID != "golden" || img.Labels["kept"] != "true" || img.Labels["export_ovf"] != "" {
		t.Errorf("kept VM image = %s %v", img, img.Labels)
	}
}

func TestArtifactStringAndDestroy(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "app.ovf")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a := &Artifact{name: "vm", dir: dir, files: []string{f}, kept: true}
	if s := a.String(); !strings.Contains(s, "exported to "+dir) || !strings.Contains(s, `VM "vm" kept`) {
		t.Errorf("String() = %q", s)
	}
	if s := (&Artifact{name: "vm"}).String(); !strings.Contains(s, "built and destroyed") {
		t.Errorf("String() = %q", s)
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Destroy left %s (err=%v)", dir, err)
	}
}
