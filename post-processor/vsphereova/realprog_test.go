package vsphereova

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"
)

// TestOVAWithRealPrograms packs a two-disk fixture export (with its own
// SHA256 .mf, like vSphere writes) through the post-processor, then checks
// the OVA with the programs users and importers actually run.
func TestOVAWithRealPrograms(t *testing.T) {
	const name = "web-01"
	ovfPath, files := export(t, fixture.ExportOptions{Name: name, Disks: 2, DiskMiB: 32, DataMiB: 3, WithManifest: true})
	dir := filepath.Dir(ovfPath)
	// A stray file vSphere exports do not reference: it must be left out and named.
	stray := filepath.Join(dir, name+".nvram")
	if err := os.WriteFile(stray, []byte("nvram"), 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, stray)

	art, uiOut := mustPack(t, files, map[string]interface{}{})
	wantPath := filepath.Join(dir, name+".ova")
	if art.Path != wantPath || art.ChecksumPath != wantPath+".sha256" {
		t.Fatalf("artifact files %v, want %s and its .sha256", art.Files(), wantPath)
	}
	if !strings.Contains(uiOut, "Leaving out 1 file(s)") || !strings.Contains(uiOut, stray) {
		t.Errorf("UI does not list the unreferenced file %s:\n%s", stray, uiOut)
	}
	summaryRE := regexp.MustCompile(`OVA: ` + regexp.QuoteMeta(wantPath) + ` \([0-9.]+ MiB\), sha256:[0-9a-f]{64}`)
	if !summaryRE.MatchString(uiOut) {
		t.Errorf("UI lacks the summary line (path, size, digest):\n%s", uiOut)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(art.Digest) || art.State("ova.digest") != art.Digest || art.DigestAlgorithm != "sha256" {
		t.Errorf("artifact digest state: %q %v %q", art.Digest, art.State("ova.digest"), art.DigestAlgorithm)
	}
	disks := []string{fixture.DiskName(name, 0), fixture.DiskName(name, 1)}

	t.Run("sha256sum -c", func(t *testing.T) {
		sum := testenv.LookPath(t, "sha256sum")
		out := mustRun(t, dir, sum, "-c", filepath.Base(art.ChecksumPath))
		if strings.TrimSpace(out) != name+".ova: OK" {
			t.Errorf("sha256sum -c said %q", out)
		}
	})

	t.Run("GNU tar order and headers", func(t *testing.T) {
		tarBin := testenv.LookPath(t, "tar")
		out := mustRun(t, dir, tarBin, "--numeric-owner", "-tvf", art.Path)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		want := append([]string{name + ".ovf", name + ".mf"}, disks...)
		if len(lines) != len(want) {
			t.Fatalf("tar -tvf listed %d members, want %v:\n%s", len(lines), want, out)
		}
		for i, l := range lines {
			f := strings.Fields(l)
			if f[len(f)-1] != want[i] || f[0] != "-rw-r--r--" || f[1] != "0/0" {
				t.Errorf("member %d: %q, want %s, -rw-r--r--, 0/0", i, l, want[i])
			}
		}
		if strings.Contains(out, ".nvram") {
			t.Errorf("unreferenced file was packed:\n%s", out)
		}
	})

	t.Run("manifest inside", func(t *testing.T) {
		tarBin := testenv.LookPath(t, "tar")
		mf := mustRun(t, dir, tarBin, "-xOf", art.Path, name+".mf")
		re := regexp.MustCompile(`^SHA256\(([^)]+)\)= [0-9a-f]{64}$`)
		lines := strings.Split(strings.TrimSuffix(mf, "\n"), "\n")
		want := append([]string{name + ".ovf"}, disks...)
		if len(lines) != len(want) {
			t.Fatalf("manifest has %d lines, want %d:\n%s", len(lines), len(want), mf)
		}
		for i, l := range lines {
			m := re.FindStringSubmatch(l)
			if m == nil || m[1] != want[i] {
				t.Errorf("manifest line %d = %q, want SHA256(%s)= <hex>", i, l, want[i])
			}
		}
	})

	t.Run("qemu-img compare", func(t *testing.T) {
		qemuImg := testenv.LookPath(t, "qemu-img")
		tarBin := testenv.LookPath(t, "tar")
		x := t.TempDir()
		mustRun(t, x, tarBin, "-xf", art.Path)
		for _, d := range disks {
			out := mustRun(t, x, qemuImg, "compare", "-f", "vmdk", "-F", "vmdk", filepath.Join(x, d), filepath.Join(dir, d))
			if !strings.Contains(out, "Images are identical") {
				t.Errorf("qemu-img compare %s: %s", d, out)
			}
			// Guard against a vacuous pass: the disk really holds the fixture's data.
			if info := mustRun(t, x, qemuImg, "info", filepath.Join(x, d)); !strings.Contains(info, "streamOptimized") {
				t.Errorf("extracted %s is not a streamOptimized vmdk:\n%s", d, info)
			}
		}
	})

	t.Run("virt-v2v", func(t *testing.T) {
		out := virtv2v.Check(t, art.Path, "source name: "+name, "nr vCPUs: 2", `"VM Network"`)
		if n := strings.Count(out, "[scsi]"); n != 2 {
			t.Errorf("virt-v2v saw %d scsi disks, want 2:\n%s", n, out)
		}

		bad := filepath.Join(t.TempDir(), "corrupt.ova")
		off := corruptCopy(t, art.Path, bad, disks[1])
		out, err := virtv2v.Run(t, bad)
		var ee interface{ ExitCode() int }
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Fatalf("virt-v2v accepted an OVA with byte %d (in %s) changed: %v\n%s", off, disks[1], err, out)
		}
		if !strings.Contains(out, "does not match manifest") {
			t.Errorf("virt-v2v failed for another reason than the manifest check:\n%s", out)
		}
	})
}

// corruptCopy copies src to dst with one byte in the middle of member's data
// flipped, and returns its offset.
func corruptCopy(t *testing.T, src, dst, member string) int64 {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	cr := &countingReader{r: bytes.NewReader(data)}
	tr := tar.NewReader(cr)
	off := int64(-1)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == member {
			// archive/tar has consumed exactly the header block(s) here.
			off = cr.n + h.Size/2
			break
		}
	}
	if off < 0 {
		t.Fatalf("member %s not in %s", member, src)
	}
	data[off] ^= 0xff
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return off
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Without the export's .mf, with SHA-512 everywhere: the manifest and the
// checksum file follow the options and sha512sum accepts the checksum file.
func TestSHA512WithoutExportManifest(t *testing.T) {
	const name = "db"
	ovfPath, files := export(t, fixture.ExportOptions{Name: name, DiskMiB: 16, DataMiB: 1})
	out := filepath.Join(t.TempDir(), "out", "{{.BuildName}}-{{.BuilderType}}.ova")
	art, _ := mustPack(t, files, map[string]interface{}{
		"output": out, "manifest_algorithm": "sha512", "checksum_algorithm": "sha512",
		"packer_build_name": "db", "packer_builder_type": "vsphere-clone",
	})
	want := filepath.Join(filepath.Dir(out), "db-vsphere-clone.ova")
	if art.Path != want || art.ChecksumPath != want+".sha512" || art.DigestAlgorithm != "sha512" {
		t.Fatalf("artifact %+v, want %s with .sha512", art, want)
	}
	sum := testenv.LookPath(t, "sha512sum")
	if o := mustRun(t, filepath.Dir(want), sum, "-c", filepath.Base(art.ChecksumPath)); !strings.Contains(o, ": OK") {
		t.Errorf("sha512sum -c: %s", o)
	}
	tarBin := testenv.LookPath(t, "tar")
	mf := mustRun(t, "", tarBin, "-xOf", art.Path, name+".mf")
	if !regexp.MustCompile(`(?m)\ASHA512\(db\.ovf\)= [0-9a-f]{128}\nSHA512\(db-disk-0\.vmdk\)= [0-9a-f]{128}\n\z`).MatchString(mf) {
		t.Errorf("manifest:\n%s", mf)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(ovfPath), name+".ova")); !os.IsNotExist(err) {
		t.Errorf("default output was written although output was set: %v", err)
	}
}

func TestChecksumNone(t *testing.T) {
	_, files := export(t, fixture.ExportOptions{Name: "n", DiskMiB: 8, DataMiB: 1, WithManifest: true})
	art, _ := mustPack(t, files, map[string]interface{}{"checksum_algorithm": "none"})
	if len(art.Files()) != 1 || art.ChecksumPath != "" {
		t.Fatalf("checksum none: files %v", art.Files())
	}
	if _, err := os.Stat(art.Path + ".sha256"); !os.IsNotExist(err) {
		t.Errorf("a checksum file was written: %v", err)
	}
}

// An existing OVA is never overwritten without force; with force (or
// Packer's -force) it is replaced.
func TestExistingOutput(t *testing.T) {
	ovfPath, files := export(t, fixture.ExportOptions{Name: "keep", DiskMiB: 8, DataMiB: 1, WithManifest: true})
	target := strings.TrimSuffix(ovfPath, ".ovf") + ".ova"
	if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := pack(context.Background(), t, files, map[string]interface{}{})
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "force") {
		t.Fatalf("want an 'already exists ... force' error, got %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Fatalf("existing output changed to %d bytes", len(b))
	}
	for _, raw := range []map[string]interface{}{{"force": true}, {"packer_force": true}} {
		if err := os.WriteFile(target, []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
		art, _ := mustPack(t, files, raw)
		if fi, err := os.Stat(art.Path); err != nil || fi.Size() < 8<<10 {
			t.Errorf("%v: OVA not replaced: %v", raw, err)
		}
	}
}

// A cancelled build leaves no OVA, no checksum file and no temporary file.
func TestCancelledLeavesNothing(t *testing.T) {
	ovfPath, files := export(t, fixture.ExportOptions{Name: "c", DiskMiB: 8, DataMiB: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := pack(ctx, t, files, map[string]interface{}{})
	if err == nil {
		t.Fatal("PostProcess with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("error does not say the run was cancelled: %v", err)
	}
	after := listDir(t, filepath.Dir(ovfPath))
	if strings.Join(after, "|") != strings.Join(files, "|") {
		t.Errorf("cancelled run left files: before %v, after %v", files, after)
	}
}

// reproducible = true: two packs of the same export, with the files' mtimes
// changed in between, give byte-identical OVAs.
func TestReproducible(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	ovfPath, files := export(t, fixture.ExportOptions{Name: "r", DiskMiB: 8, DataMiB: 1, WithManifest: true})
	out := t.TempDir()
	a1, _ := mustPack(t, files, map[string]interface{}{"reproducible": true, "output": filepath.Join(out, "1.ova")})
	for _, f := range files {
		if err := os.Chtimes(f, a1Time, a1Time); err != nil {
			t.Fatal(err)
		}
	}
	a2, _ := mustPack(t, files, map[string]interface{}{"reproducible": true, "output": filepath.Join(out, "2.ova")})
	b1, _ := os.ReadFile(a1.Path)
	b2, _ := os.ReadFile(a2.Path)
	if len(b1) == 0 || !bytes.Equal(b1, b2) || a1.Digest != a2.Digest {
		t.Errorf("reproducible OVAs differ (%d vs %d bytes)", len(b1), len(b2))
	}
	tr := tar.NewReader(bytes.NewReader(b1))
	h, err := tr.Next()
	if err != nil || h.Name != "r.ovf" || h.ModTime.Unix() != 0 {
		t.Errorf("first member %v mtime %v (err %v), want r.ovf at epoch 0", h.Name, h.ModTime, err)
	}
	_ = ovfPath
}

var a1Time = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Two exports in one artifact: without `ovf` the error lists both; with it the
// named one is packed.
func TestOVFOptionPicksOne(t *testing.T) {
	ovfA, filesA := export(t, fixture.ExportOptions{Name: "a", DiskMiB: 8, DataMiB: 1})
	ovfB, filesB := export(t, fixture.ExportOptions{Name: "b", DiskMiB: 8, DataMiB: 1})
	files := append(append([]string{}, filesA...), filesB...)
	_, _, err := pack(context.Background(), t, files, map[string]interface{}{})
	if err == nil || !strings.Contains(err.Error(), ovfA) || !strings.Contains(err.Error(), ovfB) || !strings.Contains(err.Error(), "set ovf") {
		t.Fatalf("two .ovf files without ovf: %v", err)
	}
	art, uiOut := mustPack(t, files, map[string]interface{}{"ovf": "b.ovf"})
	if art.Path != strings.TrimSuffix(ovfB, ".ovf")+".ova" {
		t.Errorf("packed %s, want b's OVA", art.Path)
	}
	if !strings.Contains(uiOut, "Leaving out 2 file(s)") || !strings.Contains(uiOut, filesA[0]) {
		t.Errorf("the other export's files are not listed as left out:\n%s", uiOut)
	}
	if _, err := os.Stat(strings.TrimSuffix(ovfA, ".ovf") + ".ova"); !os.IsNotExist(err) {
		t.Errorf("a.ova written: %v", err)
	}
}

// cancelUi cancels the build at the packing's first progress report, through
// the TrackProgress hook Packer's progress bar uses: a Ctrl-C while the OVA
// is being written, before anything is published. (ova's own tests cancel at
// an exact chunk mid-copy.)
type cancelUi struct {
	*recUi
	cancel context.CancelFunc
	reads  atomic.Int32
}

func (u *cancelUi) TrackProgress(src string, cur, total int64, stream io.ReadCloser) io.ReadCloser {
	if u.reads.Add(1) == 1 {
		u.cancel()
	}
	return stream
}

func TestCancelledMidCopyLeavesNothing(t *testing.T) {
	for _, withMF := range []bool{true, false} {
		ovfPath, files := export(t, fixture.ExportOptions{Name: "m", DiskMiB: 16, DataMiB: 8, WithManifest: withMF})
		var p PostProcessor
		if err := p.Configure(map[string]interface{}{}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ui := &cancelUi{recUi: newRecUi(), cancel: cancel}
		_, _, _, err := p.PostProcess(ctx, ui, &packersdk.MockArtifact{FilesValue: files})
		cancel()
		if ui.reads.Load() < 1 {
			t.Fatalf("with manifest=%v: the copy was never tracked; the test proves nothing", withMF)
		}
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("with manifest=%v: cancelled mid-copy, err = %v", withMF, err)
		}
		if after := listDir(t, filepath.Dir(ovfPath)); strings.Join(after, "|") != strings.Join(files, "|") {
			t.Errorf("with manifest=%v: cancelled run left files: %v", withMF, after)
		}
	}
}
