package exportdir

import (
	"crypto/sha1"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sha1Sum(s string) []byte { h := sha1.Sum([]byte(s)); return h[:] }

func TestCheckManifest(t *testing.T) {
	for _, alg := range []string{"none", "sha1", "sha256", "sha512"} {
		if errs := CheckManifest(alg); errs != nil {
			t.Errorf("%s: %v", alg, errs)
		}
	}
	if errs := CheckManifest("md5"); len(errs) != 1 || !strings.Contains(errs[0].Error(), `export.manifest "md5"`) {
		t.Errorf("md5: %v", errs)
	}
}

func TestCheckFolder(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(full, "x")
	for _, c := range []struct {
		name, dir string
		force     bool
		want      string // "" for no error
	}{
		{"app", filepath.Join(full, "new"), false, ""},
		{"app", t.TempDir(), false, ""},
		{"app", full, true, ""},
		{"app", full, false, "exists and is not empty"},
		{"app", file, false, "exists and is not a folder"},
		{"a/b", t.TempDir(), false, `export.name "a/b" must be a file name`},
		{"", t.TempDir(), false, "export.name is required"},
		{"app", "", false, "export.output_directory is required"},
	} {
		errs := CheckFolder(c.name, c.dir, c.force)
		switch {
		case c.want == "" && len(errs) != 0:
			t.Errorf("%q %q force=%v: %v", c.name, c.dir, c.force, errs)
		case c.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), c.want)):
			t.Errorf("%q %q force=%v: %v, want %q", c.name, c.dir, c.force, errs, c.want)
		}
	}
}
