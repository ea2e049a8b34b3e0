package ociarchive_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/containerdtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/registrytest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// TestArchiveImportedByContainerd is the end-to-end proof: a real
// docker-registry behind TLS and htpasswd, our archive, real containerd.
func TestArchiveImportedByContainerd(t *testing.T) {
	testenv.Require(t, testenv.Root, "real docker-registry and containerd")
	zstdBin := testenv.LookPath(t, "zstd")
	reg := registrytest.Start(t, registrytest.WithTLS(), registrytest.WithAuth("builder", secret))
	fx := registrytest.PushFixtures(t, reg, 512<<10)
	ctd := containerdtest.Start(t)

	dir := t.TempDir()
	path := filepath.Join(dir, "extra-images.tar.zst")
	var logs capture
	byDigest := strings.Replace(fx.AppB, ":2.0", "@"+fx.AppBDigest.String(), 1)
	res, err := ociarchive.Write(context.Background(), path, ociarchive.Options{
		References: []string{fx.Multi, fx.AppA, fx.AppB, byDigest},
		Auth:       []ociarchive.Auth{{Registry: reg.Host, Username: "builder", Password: secret}},
		CAFiles:    []string{reg.CAFile},
		Logf:       logs.logf,
		Progress:   logs.prog,
	})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if strings.Contains(logs.text(), secret) {
		t.Errorf("the registry password reached the log:\n%s", logs.text())
	}
	// Without the CA the registry's TLS certificate is refused, clearly.
	_, err = ociarchive.Write(context.Background(), filepath.Join(dir, "noca.tar.zst"), ociarchive.Options{
		References: []string{fx.AppA},
		Auth:       []ociarchive.Auth{{Registry: reg.Host, Username: "builder", Password: secret}},
	})
	if err == nil || !strings.Contains(err.Error(), reg.Host) || !strings.Contains(err.Error(), "certificate was not trusted") || strings.Contains(err.Error(), secret) {
		t.Errorf("Write without the registry's CA: %v, want a certificate error naming %s", err, reg.Host)
	}
	if logs.progress == 0 {
		t.Errorf("Progress was never called")
	}
	want := map[string]v1.Hash{fx.Multi: fx.MultiDigest, fx.AppA: fx.AppADigest, fx.AppB: fx.AppBDigest, byDigest: fx.AppBDigest}
	if len(res.Images) != 4 {
		t.Fatalf("Result.Images = %+v, want 4", res.Images)
	}
	for _, im := range res.Images {
		if want[im.Reference].String() != im.Digest {
			t.Errorf("Result: %s has digest %s, the registry serves %s", im.Reference, im.Digest, want[im.Reference])
		}
	}

	checkArchive(t, path, res, fx, want)
	checkImported(t, ctd, zstdBin, path, want)
	checkArm64Import(t, ctd, zstdBin, reg, fx)
	if strings.Contains(ctd.Log(), secret) {
		t.Errorf("password in containerd log")
	}
}

// checkArchive checks the archive of TestArchiveImportedByContainerd: the
// zstd window, index.json's entries and digests, and each blob stored once,
// other platforms by their manifest only.
func checkArchive(t *testing.T, path string, res *ociarchive.Result, fx *registrytest.Fixtures, want map[string]v1.Hash) {
	t.Helper()
	a := readArchive(t, path)
	if a.window > ociarchive.WindowSize {
		t.Errorf("zstd window %d > %d: k3s could not read it", a.window, ociarchive.WindowSize)
	}
	if len(a.index.Manifests) != 4 {
		t.Errorf("index.json has %d entries, want 4", len(a.index.Manifests))
	}
	for ref, d := range want {
		if e := a.entry(t, ref); e.Digest != d {
			t.Errorf("index.json: %s has digest %s, the registry serves %s", ref, e.Digest, d)
		}
	}
	if a.entry(t, fx.Multi).MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("multi-arch entry is %s, want the registry's image index", a.entry(t, fx.Multi).MediaType)
	}
	if n := a.blobs[fx.Shared.String()]; n != 1 {
		t.Errorf("shared layer %s stored %d times, want once", fx.Shared, n)
	}
	if a.blobs[fx.MultiAmd64.String()] != 1 {
		t.Errorf("amd64 manifest %s of the index missing", fx.MultiAmd64)
	}
	// Other platforms: their manifest only (containerd reads it when
	// importing all platforms), never their config or layers.
	if a.blobs[fx.MultiArm64.String()] != 1 {
		t.Errorf("arm64 manifest %s not stored; containerd's all-platform import needs it", fx.MultiArm64)
	}
	if a.blobs[fx.MultiArm64Config.String()] != 0 || a.blobs[fx.MultiArm64Layer.String()] != 0 {
		t.Errorf("arm64 config or layer stored, want only the target platform's")
	}
	total := 0
	for _, n := range a.blobs {
		total += n
	}
	// multi: index + amd64 (manifest, config, layer) + arm64 manifest;
	// app-a: manifest, config, shared layer, own layer; app-b: manifest,
	// config, own layer (the shared one is already there).
	if total != 12 || res.Blobs != 12 {
		t.Errorf("archive holds %d blobs (Result.Blobs %d), want 12", total, res.Blobs)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != res.Size || fi.Mode().Perm() != 0o644 {
		t.Errorf("archive file: %v %v, Result.Size %d", fi, err, res.Size)
	}
}

// checkImported imports the archive into containerd as k3s does and checks
// every reference is listed with its registry digest, complete and unpacked.
func checkImported(t *testing.T, ctd *containerdtest.Containerd, zstdBin, path string, want map[string]v1.Hash) {
	t.Helper()
	// As k3s does: decompress by suffix, then import into k8s.io with all
	// platforms (k3s calls containerd's Import WithAllPlatforms(true)).
	tarPath := strings.TrimSuffix(path, ".zst")
	if out, err := exec.Command(zstdBin, "-d", "-q", path, "-o", tarPath).CombinedOutput(); err != nil {
		t.Fatalf("zstd -d: %v\n%s", err, out)
	}
	out := ctd.Run(t, "-n", "k8s.io", "images", "import", "--snapshotter", containerdtest.Snapshotter, "--all-platforms", tarPath)
	t.Logf("ctr images import:\n%s", out)
	ls := ctd.Run(t, "-n", "k8s.io", "images", "ls")
	t.Logf("ctr images ls:\n%s", ls)
	listed := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(ls))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 3 {
			listed[f[0]] = f[2]
		}
	}
	for ref, d := range want {
		if listed[ref] != d.String() {
			t.Errorf("containerd lists %s with digest %q, want %s", ref, listed[ref], d)
		}
	}
	// Every listed image has all its content for this platform, unpacked.
	check := ctd.Run(t, "-n", "k8s.io", "images", "check", "--snapshotter", containerdtest.Snapshotter)
	t.Logf("ctr images check:\n%s", check)
	for ref := range want {
		found := false
		for _, l := range strings.Split(check, "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[0] == ref {
				found = true
				if !strings.Contains(l, "complete") || f[len(f)-1] != "true" {
					t.Errorf("containerd: %s is not complete and unpacked: %s", ref, l)
				}
			}
		}
		if !found {
			t.Errorf("ctr images check does not list %s", ref)
		}
	}
}

// checkArm64Import writes an arm64 bundle on this amd64 host and checks
// containerd imports it.
func checkArm64Import(t *testing.T, ctd *containerdtest.Containerd, zstdBin string, reg *registrytest.Registry, fx *registrytest.Fixtures) {
	t.Helper()
	// An arm64 bundle (built on this amd64 host) imports too; containerd
	// cannot unpack arm64 layers for an amd64 host, so it only stores them.
	armPath := filepath.Join(t.TempDir(), "arm64.tar.zst")
	if _, err := ociarchive.Write(context.Background(), armPath, ociarchive.Options{
		References: []string{fx.Multi, fx.Arm64Only}, Platform: "linux/arm64",
		Auth:    []ociarchive.Auth{{Registry: reg.Host, Username: "builder", Password: secret}},
		CAFiles: []string{reg.CAFile},
	}); err != nil {
		t.Fatalf("Write arm64: %v", err)
	}
	armTar := strings.TrimSuffix(armPath, ".zst")
	if out, err := exec.Command(zstdBin, "-d", "-q", armPath, "-o", armTar).CombinedOutput(); err != nil {
		t.Fatalf("zstd -d: %v\n%s", err, out)
	}
	ctd.Run(t, "-n", "arm64test", "images", "import", "--all-platforms", "--no-unpack", armTar)
	armLs := ctd.Run(t, "-n", "arm64test", "images", "ls")
	for _, want := range []string{fx.Multi + " ", fx.MultiDigest.String(), fx.Arm64Only + " "} {
		if !strings.Contains(armLs, want) {
			t.Errorf("arm64 import: ctr images ls lacks %q:\n%s", want, armLs)
		}
	}
}
