package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/leftover"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Disk sizes: one spanning several pooled buffers with a ragged tail (so
// padding is exercised), one smaller than a tar block.
var diskSizes = []int{9<<20 + 123, 700}

func pack(t testing.TB, o Options) *Result {
	t.Helper()
	res, err := Pack(context.Background(), o)
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return res
}

func TestPackLongHrefLeavesNothing(t *testing.T) {
	fx := newExport(t, 10)
	long := strings.Repeat("d", 101) + ".vmdk"
	os.Rename(filepath.Join(fx.dir, fx.disks[0]), filepath.Join(fx.dir, long))
	desc := strings.Replace(string(fx.data["vm.ovf"]), fx.disks[0], long, 1)
	writeFile(t, fx.ovf, []byte(desc))
	os.Remove(fx.mf)
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), "100 bytes") {
		t.Fatalf("Pack with a 106-byte href: %v", err)
	}
	assertNoLeftovers(t, outDir)
}

func TestManifestAndChecksumFormats(t *testing.T) {
	sha256sum := testenv.LookPath(t, "sha256sum")
	sha512sum := testenv.LookPath(t, "sha512sum")
	for _, tc := range []struct {
		mfAlg, sumAlg, tool string
	}{
		{"", "", sha256sum},
		{"sha512", "sha512", sha512sum},
		{"sha1", "none", ""},
	} {
		t.Run(tc.mfAlg+"-"+tc.sumAlg, func(t *testing.T) {
			fx := newExport(t, diskSizes...)
			outDir := t.TempDir()
			out := filepath.Join(outDir, "vm.ova")
			var warnings []string
			res := pack(t, Options{OVFPath: fx.ovf, Output: out, ManifestAlgorithm: tc.mfAlg, ChecksumAlgorithm: tc.sumAlg,
				Logf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
			if tc.mfAlg != "" && (res.ReusedManifest || len(warnings) == 0 || !strings.Contains(warnings[0], "not reusing")) {
				t.Errorf("export .mf in SHA256 reused for a %s manifest (warnings %q)", tc.mfAlg, warnings)
			}
			a, err := OpenArchive(out)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			rc, _, err := a.Open("vm.mf")
			if err != nil {
				t.Fatal(err)
			}
			mf, _ := io.ReadAll(rc)
			alg := tc.mfAlg
			if alg == "" {
				alg = "sha256"
			}
			var want strings.Builder
			for _, name := range []string{"vm.ovf", "vm-disk-0.vmdk", "vm-disk-1.vmdk"} {
				fmt.Fprintf(&want, "%s(%s)= %s\n", strings.ToUpper(alg), name, digest(t, alg, fx.data[name]))
			}
			if string(mf) != want.String() {
				t.Errorf("manifest:\n%s\nwant:\n%s", mf, want.String())
			}

			whole, _ := os.ReadFile(out)
			if tc.tool == "" {
				if res.ChecksumPath != "" || res.DigestAlgorithm != "sha256" || res.Digest != sha256hex(whole) {
					t.Errorf("checksum none: %+v", res)
				}
				assertNoLeftovers(t, outDir, "vm.ova")
				return
			}
			sumAlg := tc.sumAlg
			if sumAlg == "" {
				sumAlg = "sha256"
			}
			if res.ChecksumPath != out+"."+sumAlg || res.Digest != digest(t, sumAlg, whole) {
				t.Errorf("Result %+v; want digest of the written file", res)
			}
			line, _ := os.ReadFile(res.ChecksumPath)
			if string(line) != res.Digest+"  vm.ova\n" {
				t.Errorf("checksum file %q, want coreutils format", line)
			}
			cmd := exec.Command(tc.tool, "-c", filepath.Base(res.ChecksumPath))
			cmd.Dir = outDir
			if outb, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(outb), "vm.ova: OK") {
				t.Errorf("%s -c: %v\n%s", tc.tool, err, outb)
			}
			assertNoLeftovers(t, outDir, "vm.ova", "vm.ova."+sumAlg)
		})
	}
}

func digest(t testing.TB, alg string, b []byte) string {
	switch alg {
	case "sha256":
		return sha256hex(b)
	case "sha512":
		s := sha512.Sum512(b)
		return hex.EncodeToString(s[:])
	case "sha1":
		cmd := exec.Command(testenv.LookPath(t, "sha1sum"))
		cmd.Stdin = bytes.NewReader(b)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(out))[0]
	}
	t.Fatalf("alg %s", alg)
	return ""
}

// With and without the export's .mf (one read vs. two) must give the same
// bytes; with ModTime set, any file mtime change must not matter.
func TestReproducibleAndModesAgree(t *testing.T) {
	fx := newExport(t, diskSizes...)
	outDir := t.TempDir()
	a := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "a.ova"), ModTime: fixedTime()})
	if !a.ReusedManifest {
		t.Fatal("manifest not reused")
	}
	os.Remove(fx.mf)
	now := time.Now()
	for _, n := range append(fx.disks, "vm.ovf") {
		os.Chtimes(filepath.Join(fx.dir, n), now, now)
	}
	b := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "b.ova"), ModTime: fixedTime()})
	if b.ReusedManifest {
		t.Fatal("ReusedManifest without a .mf")
	}
	ab, _ := os.ReadFile(a.Path)
	bb, _ := os.ReadFile(b.Path)
	if !bytes.Equal(ab, bb) || a.Digest != b.Digest {
		t.Fatal("same inputs and ModTime gave different OVAs")
	}
	tr := tar.NewReader(bytes.NewReader(ab))
	h, _ := tr.Next()
	if !h.ModTime.Equal(*fixedTime()) {
		t.Errorf("mtime %v, want ModTime %v", h.ModTime, *fixedTime())
	}
}

func TestSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if ts, err := SourceDateEpoch(); ts != nil || err != nil {
		t.Errorf("unset: %v, %v", ts, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if ts, err := SourceDateEpoch(); err != nil || ts.Unix() != 1700000000 {
		t.Errorf("1700000000: %v, %v", ts, err)
	}
	for _, bad := range []string{"yesterday", "-5", "1.5"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if _, err := SourceDateEpoch(); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSizeFix(t *testing.T) {
	fx := newExport(t, diskSizes...)
	// The export declares a wrong size for disk 1; the export's .mf still
	// matches the on-disk descriptor, so the disks' digests are reused.
	declared := fmt.Sprintf(`ovf:size="%d"`, diskSizes[1])
	bad := strings.Replace(string(fx.data["vm.ovf"]), declared, `ovf:size="5"`, 1)
	writeFile(t, fx.ovf, []byte(bad))
	fx.data["vm.ovf"] = []byte(bad)
	fx.writeManifest(t)

	var warnings []string
	out := filepath.Join(t.TempDir(), "vm.ova")
	res := pack(t, Options{OVFPath: fx.ovf, Output: out, Logf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
	if len(res.SizeFixes) != 1 || res.SizeFixes[0] != (SizeFix{"vm-disk-1.vmdk", 5, int64(diskSizes[1])}) {
		t.Errorf("SizeFixes = %+v", res.SizeFixes)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"vm-disk-1.vmdk" was 5`) {
		t.Errorf("warnings = %q", warnings)
	}
	if !res.ReusedManifest {
		t.Error("disk digests not reused after a descriptor-only fix")
	}
	a, err := OpenArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// Descriptor() verifies the corrected bytes against the new manifest.
	d, err := a.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(bad, `ovf:size="5"`, declared, 1)
	if string(d.Bytes()) != want {
		t.Errorf("descriptor in the OVA:\n%s\nwant every byte but the size kept:\n%s", d.Bytes(), want)
	}
	mf, _ := a.Manifest()
	if e, _ := mf.Lookup("vm.ovf"); e.Digest != sha256hex([]byte(want)) {
		t.Error("manifest digest of the .ovf is not of the corrected bytes")
	}
}

func TestMissingFile(t *testing.T) {
	fx := newExport(t, diskSizes...)
	os.Remove(filepath.Join(fx.dir, "vm-disk-1.vmdk"))
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), `"vm-disk-1.vmdk"`) || !strings.Contains(err.Error(), fx.dir) {
		t.Fatalf("Pack with a missing disk: %v, want an error naming the href and folder", err)
	}
	assertNoLeftovers(t, outDir)
}

func TestRejectedHref(t *testing.T) {
	fx := newExport(t, 10)
	bad := strings.Replace(string(fx.data["vm.ovf"]), `ovf:href="vm-disk-0.vmdk"`, `ovf:href="../../etc/passwd"`, 1)
	writeFile(t, fx.ovf, []byte(bad))
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), "../../etc/passwd") || !strings.Contains(err.Error(), "vm.ovf") {
		t.Fatalf("Pack with href ../../etc/passwd: %v", err)
	}
	assertNoLeftovers(t, outDir)
}

func TestManifestMismatchLeavesNothing(t *testing.T) {
	fx := newExport(t, diskSizes...)
	// The disk changed after export: one byte differs from what the .mf says.
	p := filepath.Join(fx.dir, "vm-disk-0.vmdk")
	b := bytes.Clone(fx.data["vm-disk-0.vmdk"])
	b[len(b)/2] ^= 1
	writeFile(t, p, b)
	outDir := t.TempDir()
	_, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	want := []string{"vm-disk-0.vmdk", sha256hex(fx.data["vm-disk-0.vmdk"]), sha256hex(b), "expected", "actual"}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Fatalf("Pack with a tampered disk: %v; want it to contain %q", err, w)
		}
	}
	assertNoLeftovers(t, outDir)

	// A tampered descriptor is caught as well (before writing anything).
	fx = newExport(t, 10)
	writeFile(t, fx.ovf, append(fx.data["vm.ovf"], ' '))
	_, err = Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
	if err == nil || !strings.Contains(err.Error(), "vm.ovf does not match") {
		t.Fatalf("tampered descriptor: %v", err)
	}
	assertNoLeftovers(t, outDir)
}

func TestForce(t *testing.T) {
	fx := newExport(t, 10)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "vm.ova")
	writeFile(t, out, []byte("old"))
	// Refused before reading anything: the descriptor does not even exist.
	_, err := Pack(context.Background(), Options{OVFPath: filepath.Join(fx.dir, "absent.ovf"), Output: out})
	if err == nil || !strings.Contains(err.Error(), "exists; set force = true or run packer with -force") {
		t.Fatalf("Pack over an existing OVA: %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Fatal("existing OVA changed without force")
	}
	// A stale checksum file is also protected.
	os.Remove(out)
	writeFile(t, out+".sha256", []byte("old"))
	if _, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: out}); err == nil || !strings.Contains(err.Error(), ".sha256 exists") {
		t.Fatalf("Pack over an existing checksum file: %v", err)
	}
	writeFile(t, out, []byte("old"))
	res := pack(t, Options{OVFPath: fx.ovf, Output: out, Force: true})
	// Even with force, an input is never the output.
	if _, err := Pack(context.Background(), Options{OVFPath: fx.ovf, Output: filepath.Join(fx.dir, fx.disks[0]), Force: true}); err == nil || !strings.Contains(err.Error(), "is the input file") {
		t.Errorf("Pack onto its own disk: %v", err)
	}
	b, _ := os.ReadFile(out)
	if sha256hex(b) != res.Digest {
		t.Fatal("force did not replace the OVA")
	}
	assertNoLeftovers(t, outDir, "vm.ova", "vm.ova.sha256")
}

func TestOptionErrors(t *testing.T) {
	fx := newExport(t, 10)
	out := filepath.Join(t.TempDir(), "vm.ova")
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{OVFPath: fx.ovf, Output: out, ManifestAlgorithm: "md5"}, `manifest algorithm "md5"`},
		{Options{OVFPath: fx.ovf, Output: out, ChecksumAlgorithm: "sha1"}, `checksum algorithm "sha1"`},
		{Options{Output: out}, "no OVF descriptor"},
		{Options{OVFPath: fx.ovf}, "no output path"},
		{Options{OVFPath: fx.mf, Output: out}, "does not end in .ovf"},
		{Options{OVFPath: fx.ovf, Output: out, ExportManifest: filepath.Join(fx.dir, "nope.mf")}, "nope.mf"},
	} {
		if _, err := Pack(context.Background(), tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Pack(%+v) = %v, want error containing %q", tc.o, err, tc.want)
		}
	}
}

func TestExportManifestOption(t *testing.T) {
	fx := newExport(t, diskSizes...)
	other := filepath.Join(t.TempDir(), "elsewhere.mf")
	if err := os.Rename(fx.mf, other); err != nil {
		t.Fatal(err)
	}
	res := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), ExportManifest: other})
	if !res.ReusedManifest {
		t.Error("explicit ExportManifest not reused")
	}
	// A manifest that misses a disk is ignored with a warning.
	mf, _ := os.ReadFile(other)
	lines := strings.SplitAfter(string(mf), "\n")
	writeFile(t, fx.mf, []byte(lines[0]+lines[1]))
	var warnings []string
	res = pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Logf: func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) }})
	if res.ReusedManifest || len(warnings) != 1 || !strings.Contains(warnings[0], `does not list "vm-disk-1.vmdk"`) {
		t.Errorf("incomplete .mf: reused=%v warnings=%q", res.ReusedManifest, warnings)
	}
}

func TestSHA512Digest(t *testing.T) {
	fx := newExport(t, 10)
	res := pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), ChecksumAlgorithm: "sha512"})
	if !regexp.MustCompile(`^[0-9a-f]{128}$`).MatchString(res.Digest) || res.DigestAlgorithm != "sha512" {
		t.Errorf("sha512 digest %q (%s)", res.Digest, res.DigestAlgorithm)
	}
}

// TestPackRemovesStaleTemp: the temporary file a killed run left beside
// the output (unlocked, a minute old) is removed and reported with its
// size; a live run's (locked) stays.
func TestPackRemovesStaleTemp(t *testing.T) {
	fx := newExport(t, 10)
	outDir := t.TempDir()
	stale := leftover.File(t, outDir, "big.ova", 1000)
	live, err := atomicfile.Create(filepath.Join(outDir, "other.ova"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	leftover.Age(t, live.Name())
	var logs []string
	pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova"), Logf: func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) }})
	want := "removed " + stale + " (1000 B), left by an interrupted run"
	if !slices.Contains(logs, want) {
		t.Errorf("logs %q lack %q", logs, want)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file still there: %v", err)
	}
	if _, err := os.Stat(live.Name()); err != nil {
		t.Errorf("a live run's temp file was removed: %v", err)
	}
}
