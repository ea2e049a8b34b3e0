package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

type tarMember struct {
	name string
	data []byte
}

// writeTar writes members in the given order in format, as a tool other
// than ours might (a GNU or PAX tar, the manifest anywhere).
func writeTar(t *testing.T, path string, format tar.Format, ms ...tarMember) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg, Format: format, ModTime: *fixedTime()}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, buf.Bytes())
}

// sha1Manifest is an ovftool-style SHA1 manifest of the named members.
func sha1Manifest(data map[string][]byte, names ...string) []byte {
	var b strings.Builder
	for _, n := range names {
		s := sha1.Sum(data[n])
		fmt.Fprintf(&b, "SHA1(%s)= %s\n", n, hex.EncodeToString(s[:]))
	}
	return []byte(b.String())
}

// readOVA returns every member of an OVA, checked against its manifest.
func readOVA(t *testing.T, path string) (names []string, data map[string][]byte) {
	t.Helper()
	a, err := OpenArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	data = map[string][]byte{}
	for _, m := range a.Members() {
		rc, _, err := a.Open(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: member %s: %v", path, m.Name, err)
		}
		names = append(names, m.Name)
		data[m.Name] = b
	}
	return names, data
}

func repack(t *testing.T, src string, outs ...Output) ([]*Result, error) {
	t.Helper()
	a, err := OpenArchive(src)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	return PackAll(context.Background(), Options{Source: a, Outputs: outs})
}

// An OVA of ours re-packed into two OVAs (one leaving a disk out): each disk
// is read once (the source's SHA256 manifest is reused and verified while
// copying), and the outputs hold the source's bytes under a new manifest.
func TestPackAllFromOVA(t *testing.T) {
	fx := newExport(t, diskSizes...)
	src := filepath.Join(t.TempDir(), "src.ova")
	if _, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: src}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.ova"), filepath.Join(dir, "b.ova")
	res, err := repack(t, src, Output{Path: a},
		Output{Path: b, Descriptor: withoutFile(t, fx.data["vm.ovf"], "vm-disk-1.vmdk"), Drop: []string{"vm-disk-1.vmdk"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].ReusedManifest {
		t.Error("the source OVA's SHA256 manifest was not reused: its disks were read twice")
	}
	names, got := readOVA(t, a)
	if want := append([]string{"vm.ovf", "vm.mf"}, fx.disks...); !slices.Equal(names, want) {
		t.Errorf("%s members %q, want %q", a, names, want)
	}
	for _, d := range fx.disks {
		if !bytes.Equal(got[d], fx.data[d]) {
			t.Errorf("%s: %s differs from the source's", a, d)
		}
	}
	names, _ = readOVA(t, b)
	if slices.Contains(names, "vm-disk-1.vmdk") || len(names) != 1+len(fx.disks) {
		t.Errorf("%s members %q: want vm-disk-1.vmdk left out", b, names)
	}
	if _, err := os.Stat(a + ".sha256"); err != nil {
		t.Errorf("no checksum file: %v", err)
	}
}

// An OVA another tool wrote: GNU headers, the manifest last and in SHA1.
// The SHA1 digests are checked in the hashing pass, and the output gets a
// SHA256 manifest in our order.
func TestPackAllFromForeignOVA(t *testing.T) {
	fx := newExport(t, diskSizes...)
	ms := []tarMember{{"vm.ovf", fx.data["vm.ovf"]}}
	for _, d := range fx.disks {
		ms = append(ms, tarMember{d, fx.data[d]})
	}
	ms = append(ms, tarMember{"vm.mf", sha1Manifest(fx.data, append([]string{"vm.ovf"}, fx.disks...)...)})
	src := filepath.Join(t.TempDir(), "foreign.ova")
	writeTar(t, src, tar.FormatGNU, ms...)
	out := filepath.Join(t.TempDir(), "out.ova")
	res, err := repack(t, src, Output{Path: out})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ReusedManifest {
		t.Error("a SHA1 manifest cannot give the SHA256 digests, yet it was reused")
	}
	names, got := readOVA(t, out)
	if want := append([]string{"vm.ovf", "vm.mf"}, fx.disks...); !slices.Equal(names, want) {
		t.Errorf("members %q, want %q", names, want)
	}
	if !bytes.HasPrefix(got["vm.mf"], []byte("SHA256(vm.ovf)= ")) {
		t.Errorf("manifest %q: want SHA256 lines", got["vm.mf"])
	}
}

// A member that does not match the source's manifest is refused, named with
// both digests, whether its digest is reused (SHA256) or checked while
// hashing (SHA1); no output appears.
func TestPackAllFromOVALyingManifest(t *testing.T) {
	fx := newExport(t, diskSizes...)
	bad := bytes.Clone(fx.data["vm-disk-1.vmdk"])
	bad[len(bad)/2] ^= 1
	for _, tc := range []struct {
		name string
		mf   func() []byte
	}{
		{"sha256 reused", func() []byte { b, _ := os.ReadFile(fx.mf); return b }},
		{"sha1 hashed", func() []byte { return sha1Manifest(fx.data, append([]string{"vm.ovf"}, fx.disks...)...) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := []tarMember{{"vm.ovf", fx.data["vm.ovf"]}, {"vm.mf", tc.mf()}}
			for _, d := range fx.disks {
				b := fx.data[d]
				if d == "vm-disk-1.vmdk" {
					b = bad
				}
				ms = append(ms, tarMember{d, b})
			}
			src := filepath.Join(t.TempDir(), "lying.ova")
			writeTar(t, src, tar.FormatPAX, ms...)
			dir := t.TempDir()
			_, err := repack(t, src, Output{Path: filepath.Join(dir, "a.ova")}, Output{Path: filepath.Join(dir, "b.ova")})
			var de *ovf.DigestError
			if !errors.As(err, &de) || de.Name != "vm-disk-1.vmdk" {
				t.Fatalf("PackAll of an OVA with a corrupt disk: %v; want a DigestError naming vm-disk-1.vmdk", err)
			}
			for _, want := range []string{de.Expected, de.Actual, "vm-disk-1.vmdk"} {
				if want == "" || !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if strings.EqualFold(de.Expected, de.Actual) {
				t.Errorf("expected and actual digest are the same: %v", err)
			}
			assertNoLeftovers(t, dir)
		})
	}
}

func TestPackAllFromOVAErrors(t *testing.T) {
	fx := newExport(t, diskSizes[0])
	src := filepath.Join(t.TempDir(), "src.ova")
	if _, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: src}); err != nil {
		t.Fatal(err)
	}
	a, err := OpenArchive(src)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Source: a, OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "x.ova")}, "either Source"},
		{Options{Source: a, Output: src, Force: true}, "is the input file " + src},
	} {
		if _, err := PackAll(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("PackAll(%+v): %v, want %q", tc.o, err, tc.want)
		}
	}
	// A member the descriptor references but the OVA lacks.
	noDisk := filepath.Join(t.TempDir(), "nodisk.ova")
	writeTar(t, noDisk, tar.FormatUSTAR, tarMember{"vm.ovf", fx.data["vm.ovf"]})
	if _, err := repack(t, noDisk, Output{Path: filepath.Join(t.TempDir(), "y.ova")}); err == nil || !strings.Contains(err.Error(), `references "vm-disk-0.vmdk"`) {
		t.Errorf("OVA without its disk: %v", err)
	}
}
