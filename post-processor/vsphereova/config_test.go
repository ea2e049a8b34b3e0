package vsphereova

import (
	"strings"
	"testing"
)

func TestConfigureDefaults(t *testing.T) {
	var p PostProcessor
	if err := p.Configure(map[string]interface{}{}); err != nil {
		t.Fatalf("Configure with no options: %v", err)
	}
	c := p.config
	if c.ManifestAlgorithm != "sha256" || c.ChecksumAlgorithm != "sha256" {
		t.Errorf("defaults: manifest_algorithm=%q checksum_algorithm=%q, want sha256/sha256", c.ManifestAlgorithm, c.ChecksumAlgorithm)
	}
	if c.Force || c.Reproducible || c.OutputPath != "" || c.OVF != "" {
		t.Errorf("unexpected non-zero defaults: %+v", c)
	}
}

func TestConfigureNormalisesEnums(t *testing.T) {
	var p PostProcessor
	err := p.Configure(map[string]interface{}{"manifest_algorithm": "SHA1", "checksum_algorithm": " None "})
	if err != nil {
		t.Fatal(err)
	}
	if p.config.ManifestAlgorithm != "sha1" || p.config.ChecksumAlgorithm != "none" {
		t.Errorf("got %q/%q, want sha1/none", p.config.ManifestAlgorithm, p.config.ChecksumAlgorithm)
	}
}

func TestConfigureRejectsBadValues(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]interface{}
		want []string
	}{
		{"manifest md5", map[string]interface{}{"manifest_algorithm": "md5"},
			[]string{`manifest_algorithm = "md5" is not supported`, `"sha256", "sha512", "sha1"`}},
		{"manifest none", map[string]interface{}{"manifest_algorithm": "none"},
			[]string{`manifest_algorithm = "none"`}},
		{"checksum sha1", map[string]interface{}{"checksum_algorithm": "sha1"},
			[]string{`checksum_algorithm = "sha1" is not supported`, `"sha256", "sha512", "none"`}},
		{"output template", map[string]interface{}{"output": "out/{{.BuildName"},
			[]string{"output", "unclosed action"}},
		{"ovf pattern", map[string]interface{}{"ovf": "*.ovf"},
			[]string{`ovf "*.ovf": give the .ovf's file name or path, not a pattern`}},
		{"both enums", map[string]interface{}{"manifest_algorithm": "crc", "checksum_algorithm": "md5"},
			[]string{"manifest_algorithm", "checksum_algorithm"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkConfigureRejects(t, tc.raw, tc.want) })
	}
}

func TestConfigureUnknownKey(t *testing.T) {
	var p PostProcessor
	err := p.Configure(map[string]interface{}{"outptu": "x.ova"})
	if err == nil || !strings.Contains(err.Error(), "outptu") {
		t.Fatalf("unknown key not reported by name: %v", err)
	}
}

func TestConfigSpecHasEveryOption(t *testing.T) {
	var p PostProcessor
	spec := p.ConfigSpec()
	for _, k := range []string{"output", "ovf", "manifest_algorithm", "checksum_algorithm", "force", "reproducible"} {
		if _, ok := spec[k]; !ok {
			t.Errorf("HCL2 spec lacks %q (run go generate)", k)
		}
	}
}

// checkConfigureRejects checks that Configure refuses raw with an error
// naming each of want.
func checkConfigureRejects(t *testing.T, raw map[string]interface{}, want []string) {
	t.Helper()
	var p PostProcessor
	err := p.Configure(raw)
	if err == nil {
		t.Fatalf("Configure(%v) accepted bad input", raw)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
