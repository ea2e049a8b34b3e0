package vsphereova

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
)

// The renamed options are refused with the name to write instead, from an
// HCL2 template (the cty value Packer decodes against the spec) and from a
// JSON one (the raw map).
func TestRenamedOptions(t *testing.T) {
	var b Builder
	spec := hcldec.ObjectSpec(b.ConfigSpec())
	for _, c := range []struct {
		hcl  string
		json map[string]interface{}
		want string
	}{
		{`properties = { "guestinfo.hostname" = "web1" }`, map[string]interface{}{"properties": map[string]string{"guestinfo.hostname": "web1"}},
			"properties was renamed to vapp { properties = { ... } } (the name vsphere-clone uses)"},
		{"export {\n  images = true\n}", map[string]interface{}{"export": map[string]interface{}{"images": true}},
			"export.images was renamed to export.image_files (the name vsphere-clone uses)"},
	} {
		for what, raw := range map[string]interface{}{"HCL2": packertest.DecodeHCL(t, c.hcl, spec), "JSON": c.json} {
			var cfg Config
			if _, err := cfg.Prepare(raw); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s %s: %v; want %q", what, c.hcl, err, c.want)
			}
		}
	}
	var cfg Config
	_, err := cfg.Prepare(packertest.DecodeHCL(t, "vapp {\n  properties = { \"guestinfo.hostname\" = \"web1\" }\n}\nexport {\n  image_files = true\n}", spec))
	if err != nil && strings.Contains(err.Error(), "renamed") {
		t.Errorf("new names refused: %v", err)
	}
	if cfg.VApp.Properties["guestinfo.hostname"] != "web1" || cfg.Export == nil || !cfg.Export.ImageFiles {
		t.Errorf("decoded vapp %v export %+v", cfg.VApp.Properties, cfg.Export)
	}
}
