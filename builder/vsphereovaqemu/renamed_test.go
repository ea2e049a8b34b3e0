package vsphereovaqemu

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
		{`secure_boot = true`, map[string]interface{}{"secure_boot": true},
			`secure_boot was renamed to firmware = "efi-secure" (the name vsphere-iso uses)`},
		{`properties = { hostname = "web1" }`, map[string]interface{}{"properties": map[string]string{"hostname": "web1"}},
			"properties was renamed to vapp { properties = { ... } } (the name vsphere-clone uses)"},
	} {
		for what, raw := range map[string]interface{}{"HCL2": packertest.DecodeHCL(t, c.hcl, spec), "JSON": c.json} {
			var cfg Config
			if _, err := cfg.Prepare(raw); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s %s: %v; want %q", what, c.hcl, err, c.want)
			}
		}
	}
	// The new names are not refused as renamed.
	var cfg Config
	_, err := cfg.Prepare(packertest.DecodeHCL(t, "firmware = \"efi-secure\"\nvapp {\n  properties = { hostname = \"web1\" }\n}", spec))
	if err != nil && strings.Contains(err.Error(), "renamed") {
		t.Errorf("new names refused: %v", err)
	}
	if cfg.VApp.Properties["hostname"] != "web1" || cfg.Firmware != "efi-secure" {
		t.Errorf("decoded vapp %v firmware %q", cfg.VApp.Properties, cfg.Firmware)
	}
}

// firmware takes vsphere-iso's three values; each sets both QEMU's
// firmware and Secure Boot, and "" keeps the OVF's.
func TestFirmwareSettings(t *testing.T) {
	for in, want := range map[string]struct {
		fw          string
		secure, set bool
	}{"": {"", false, false}, "bios": {"bios", false, true}, "efi": {"efi", false, true}, "efi-secure": {"efi", true, true}} {
		c := HardwareConfig{Firmware: in}
		if errs := c.Prepare(); len(errs) > 0 {
			t.Errorf("%q: %v", in, errs)
		}
		if fw, secure, set := c.firmwareSettings(); fw != want.fw || secure != want.secure || set != want.set {
			t.Errorf("%q: %q %v %v; want %+v", in, fw, secure, set, want)
		}
	}
	c := HardwareConfig{Firmware: "uefi"}
	if errs := c.Prepare(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "bios, efi or efi-secure") {
		t.Errorf("uefi: %v", errs)
	}
}
