package ovasource

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
)

// TestSizeWarnings: an ovf:size that is not the file's size is a warning
// naming both sizes, for an OVF folder and an OVA alike; a true size none.
func TestSizeWarnings(t *testing.T) {
	const href = "basic-vm-disk-0.vmdk" // ovf:size="1234567" in Basic()
	disk := make([]byte, 4096)
	for _, declared := range []string{"1234567", "4096"} {
		desc := []byte(strings.Replace(string(ovftest.Basic()), `ovf:size="1234567"`, `ovf:size="`+declared+`"`, 1))
		dir := t.TempDir()
		ovfPath := filepath.Join(dir, "basic.ovf")
		os.WriteFile(ovfPath, desc, 0o644)
		os.WriteFile(filepath.Join(dir, href), disk, 0o644)
		ovaPath := filepath.Join(t.TempDir(), "basic.ova")
		writeTar(t, ovaPath, map[string][]byte{"basic.ovf": desc, href: disk}, "basic.ovf", href)
		for _, p := range []string{ovfPath, ovaPath} {
			s, err := Open(context.Background(), Options{Path: p})
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			s.Close()
			if declared == "4096" {
				if len(s.Warnings) != 0 {
					t.Errorf("%s: true size warned: %q", p, s.Warnings)
				}
				continue
			}
			if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], `ovf:size="1234567" for "basic-vm-disk-0.vmdk", but the file has 4096 bytes`) {
				t.Errorf("%s: warnings %q", p, s.Warnings)
			}
		}
	}
}

func writeTar(t *testing.T, p string, files map[string][]byte, order ...string) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range order {
		tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg})
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
