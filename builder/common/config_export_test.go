package common

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// output_format takes "ovf" (the default) or "ova"; checksum_algorithm is
// only for "ova"; anything else is a clear error naming the option.
func TestExportOutputFormat(t *testing.T) {
	for _, c := range []struct {
		format, checksum string
		want             string // error substring, "" for none
		wantFormat       string
	}{
		{"", "", "", "ovf"},
		{"ova", "", "", "ova"},
		{"ova", "none", "", "ova"},
		{"ova", "sha512", "", "ova"},
		{"OVA", "", `export.output_format "OVA": expected "ovf"`, ""},
		{"zip", "", `export.output_format "zip"`, ""},
		{"ova", "md5", `export.checksum_algorithm "md5": expected sha256, sha512 or none`, ""},
		{"ovf", "sha256", `export.checksum_algorithm is only used with output_format = "ova"`, ""},
	} {
		t.Run(c.format+"/"+c.checksum, func(t *testing.T) {
			e := &ExportConfig{Name: "vm", OutputDir: filepath.Join(t.TempDir(), "out"), OutputFormat: c.format, ChecksumAlgorithm: c.checksum}
			errs := e.Prepare()
			got := fmt.Sprint(errs)
			switch {
			case c.want == "" && len(errs) > 0:
				t.Fatalf("errors %v", errs)
			case c.want != "" && !strings.Contains(got, c.want):
				t.Fatalf("errors %v, want %q", errs, c.want)
			case c.wantFormat != "" && e.OutputFormat != c.wantFormat:
				t.Fatalf("OutputFormat %q, want %q", e.OutputFormat, c.wantFormat)
			case c.want == "" && c.checksum == "" && c.format == "ova" && e.ChecksumAlgorithm != "sha256":
				t.Fatalf("ChecksumAlgorithm default %q", e.ChecksumAlgorithm)
			}
		})
	}
}
