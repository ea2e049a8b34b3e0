package vsphereova

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovftarget"
)

func configured(t *testing.T, raw map[string]interface{}) *PostProcessor {
	t.Helper()
	var p PostProcessor
	if err := p.Configure(raw); err != nil {
		t.Fatalf("Configure(%v): %v", raw, err)
	}
	return &p
}

// The naming rule of Config.OutputPath, case by case.
func TestOutputNamingPerTarget(t *testing.T) {
	three := []interface{}{"vsphere", "workstation", "virtualbox"}
	art := &packersdk.MockArtifact{BuilderIdValue: "x"}
	ovfPath := filepath.Join("exp", "app.ovf")
	for _, tc := range []struct {
		name string
		raw  map[string]interface{}
		want []string
	}{
		{"default, one target", map[string]interface{}{}, []string{"exp/app.ova"}},
		{"default, three targets", map[string]interface{}{"target": three},
			[]string{"exp/app.ova", "exp/app-workstation.ova", "exp/app-virtualbox.ova"}},
		{"output without Target", map[string]interface{}{"target": three, "output": "dist/{{.BuildName}}.OVA"},
			[]string{"dist/b.OVA", "dist/b-workstation.OVA", "dist/b-virtualbox.OVA"}},
		{"output without .ova", map[string]interface{}{"target": []interface{}{"portable", "vsphere"}, "output": "dist/app"},
			[]string{"dist/app", "dist/app-vsphere"}},
		{"output with Target", map[string]interface{}{"target": three, "output": "dist/{{.Target}}/{{.BuildName}}.ova"},
			[]string{"dist/vsphere/b.ova", "dist/workstation/b.ova", "dist/virtualbox/b.ova"}},
		{"first target not vsphere", map[string]interface{}{"target": []interface{}{"virtualbox", "vsphere"}},
			[]string{"exp/app.ova", "exp/app-vsphere.ova"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.raw["packer_build_name"] = "b"
			p := configured(t, tc.raw)
			got, err := p.outputPaths(art, ovfPath, p.config.TargetList())
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, filepath.FromSlash(w))
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("paths %q, want %q", got, want)
			}
		})
	}
}

// Two targets rendering to one path are refused, naming both and the fix.
func TestOutputNamingCollision(t *testing.T) {
	p := configured(t, map[string]interface{}{
		"target": []interface{}{"vsphere", "workstation", "virtualbox"},
		"output": `dist/{{ if eq .Target "vsphere" }}a{{ else }}b{{ end }}.ova`,
	})
	_, err := p.outputPaths(&packersdk.MockArtifact{}, "exp/app.ovf", p.config.TargetList())
	if err == nil {
		t.Fatal("colliding outputs accepted")
	}
	for _, w := range []string{`"workstation"`, `"virtualbox"`, "the same path dist/b.ova", "{{.Target}}"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

// Configure reports every customization error with the option's name.
func TestConfigureTargetErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  map[string]interface{}
		want []string
	}{
		{"unknown target", map[string]interface{}{"target": []interface{}{"vsphere", "hyperv"}},
			[]string{`target[1]: unknown target "hyperv"`, "vsphere, workstation, virtualbox, portable"}},
		{"target twice", map[string]interface{}{"target": []interface{}{"vsphere", "VSphere"}},
			[]string{"listed twice"}},
		{"hardware version", map[string]interface{}{"hardware_version": "vmx19"}, []string{"hardware_version"}},
		{"max hardware version", map[string]interface{}{"max_hardware_version": "vmx-x"}, []string{"max_hardware_version"}},
		{"property key", map[string]interface{}{"property": []map[string]interface{}{{"key": "guestinfo:ip"}}},
			[]string{"property[0]", "guestinfo:ip", "forbids"}},
		{"eula file", map[string]interface{}{"eula_file": "/nonexistent/eula.txt"}, []string{"eula_file", "/nonexistent/eula.txt"}},
		{"nvram", map[string]interface{}{"nvram": "maybe"}, []string{"nvram"}},
		{"remove device", map[string]interface{}{"remove_devices": []interface{}{"tape"}}, []string{"remove_devices[0]", "tape"}},
		{"signing half", map[string]interface{}{"signing": map[string]interface{}{"private_key_file": "/nonexistent/key.pem"}},
			[]string{"signing.certificate_file: required", "signing.private_key_file"}},
		{"with another error", map[string]interface{}{"target": []interface{}{"esx"}, "manifest_algorithm": "md5"},
			[]string{"target[0]", "manifest_algorithm"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkConfigureRejects(t, tc.raw, tc.want) })
	}
}

func TestConfigSpecHasTargetOptions(t *testing.T) {
	var p PostProcessor
	spec := p.ConfigSpec()
	for _, k := range []string{"target", "product", "annotation", "eula", "eula_file", "hardware_version", "max_hardware_version",
		"nvram", "remove_devices", "property", "property_transport", "cloud_init_properties", "fail_on_firmware_loss", "signing"} {
		if _, ok := spec[k]; !ok {
			t.Errorf("HCL2 spec lacks %q (run go generate)", k)
		}
	}
	p = *configured(t, map[string]interface{}{"target": []interface{}{"Workstation"}, "product": map[string]interface{}{"name": "Acme"}})
	if got := p.config.TargetList(); len(got) != 1 || got[0] != ovftarget.Workstation || p.config.Product.Name != "Acme" {
		t.Errorf("decoded targets %v, product %+v", got, p.config.Product)
	}
}

// The artifact of several targets lists every OVA and checksum file, says
// each target's OVA, and labels each OVA in the HCP Packer metadata.
func TestArtifactOfSeveralTargets(t *testing.T) {
	a := &Artifact{OVAs: []OVA{
		{Target: "vsphere", Path: "d/app.ova", ChecksumPath: "d/app.ova.sha256", Digest: "aa", DigestAlgorithm: "sha256", Size: 1},
		{Target: "workstation", Path: "d/app-workstation.ova", ChecksumPath: "d/app-workstation.ova.sha256", Digest: "bb", DigestAlgorithm: "sha256", Size: 2},
	}}
	f := a.OVAs[0]
	a.Path, a.ChecksumPath, a.Digest, a.DigestAlgorithm, a.Size = f.Path, f.ChecksumPath, f.Digest, f.DigestAlgorithm, f.Size
	want := []string{"d/app.ova", "d/app.ova.sha256", "d/app-workstation.ova", "d/app-workstation.ova.sha256"}
	if fmt.Sprint(a.Files()) != fmt.Sprint(want) {
		t.Errorf("Files() = %q, want %q", a.Files(), want)
	}
	s := a.String()
	for _, w := range []string{"2 OVAs", "vsphere: d/app.ova (sha256 aa)", "workstation: d/app-workstation.ova (sha256 bb)"} {
		if !strings.Contains(s, w) {
			t.Errorf("String() = %q lacks %q", s, w)
		}
	}
	if m, _ := a.State("ova.paths").(map[string]string); m["workstation"] != "d/app-workstation.ova" || a.State("ova.path") != "d/app.ova" {
		t.Errorf("state ova.paths %v, ova.path %v", a.State("ova.paths"), a.State("ova.path"))
	}
	img := a.State(registryimage.ArtifactStateURI).(*registryimage.Image)
	if img.Labels["ova_path"] != "d/app.ova" || img.Labels["ova_targets"] != "vsphere,workstation" ||
		img.Labels["ova_workstation_path"] != "d/app-workstation.ova" || img.Labels["ova_workstation_digest"] != "bb" || img.Labels["ova_vsphere_size"] != "1" {
		t.Errorf("registry labels %v", img.Labels)
	}
}
