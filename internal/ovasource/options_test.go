package ovasource

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	ova := filepath.Join(dir, "base.ova")
	if err := os.WriteFile(ova, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "x.ovf")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    Options
		want []string // one message part per error
	}{
		{Options{Path: ova}, nil},
		{Options{Path: "https://h/base.ova", Checksum: "sha256:ab"}, nil},
		{Options{}, []string{"source_path is required"}},
		{Options{Path: "http://?tok=1"}, []string{"source_path http: is not a valid URL"}},
		{Options{Path: filepath.Join(dir, "base.img")}, []string{"expected a file ending in .ova or .ovf"}},
		{Options{Path: filepath.Join(dir, "missing.ova")}, []string{"source_path: stat"}},
		{Options{Path: folder}, []string{"is a folder: point it at the .ovf file inside"}},
		{Options{Path: ova, Checksum: "crc:1"}, []string{`source_checksum "crc:1"`}},
	} {
		errs := Check(c.o)
		if len(errs) != len(c.want) {
			t.Errorf("%+v: %v, want %d errors", c.o, errs, len(c.want))
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(errs[i].Error(), w) {
				t.Errorf("%+v: %v, want %q", c.o, errs[i], w)
			}
		}
		if len(errs) > 0 && strings.Contains(errs[0].Error(), "tok") {
			t.Errorf("the URL is in the message: %v", errs[0])
		}
	}
}
