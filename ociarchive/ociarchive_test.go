package ociarchive_test

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/containerdtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/registrytest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// The registry password of the tests: it must appear in no error, log line
// or progress message.
const secret = "s3cr3t-Pa55word-never-logged"

func TestReadReferences(t *testing.T) {
	in := `# images for the appliance
127.0.0.1:5000/app:1.0

  nginx@sha256:0123456789012345678901234567890123456789012345678901234567890123   # pinned
docker.io/library/busybox:1.36
`
	got, err := ociarchive.ReadReferences(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:5000/app:1.0", "nginx@sha256:0123456789012345678901234567890123456789012345678901234567890123", "docker.io/library/busybox:1.36"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"ok:1\nBad Ref:1\n", "ok:1\n\nUPPER/Case:1\n"} {
		_, err := ociarchive.ReadReferences(strings.NewReader(bad))
		if err == nil || !strings.Contains(err.Error(), "line 2") && !strings.Contains(err.Error(), "line 3") {
			t.Errorf("ReadReferences(%q) = %v, want an error naming the line", bad, err)
		}
	}
}

func TestName(t *testing.T) {
	const d = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	for in, want := range map[string]string{
		"nginx":                         "docker.io/library/nginx:latest",
		"nginx:1.27":                    "docker.io/library/nginx:1.27",
		"docker.io/library/nginx:1.27":  "docker.io/library/nginx:1.27",
		"index.docker.io/bitnami/redis": "docker.io/bitnami/redis:latest",
		"ghcr.io/org/app@" + d:          "ghcr.io/org/app@" + d,
		"quay.io/org/app:1.0@" + d:      "quay.io/org/app:1.0@" + d,
		"127.0.0.1:5000/a/b/c:v2":       "127.0.0.1:5000/a/b/c:v2",
	} {
		got, err := ociarchive.Name(in)
		if err != nil || got != want {
			t.Errorf("Name(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ociarchive.Name("Not A Ref"); err == nil || !strings.Contains(err.Error(), `"Not A Ref"`) {
		t.Errorf("Name of a bad reference: %v, want an error naming it", err)
	}
}

// capture records Logf and Progress output to check it never holds secrets.
type capture struct {
	mu       sync.Mutex
	lines    []string
	progress int
}

func (c *capture) logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, fmt.Sprintf(format, args...))
}

func (c *capture) prog(ref string, done, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.progress++
	c.lines = append(c.lines, fmt.Sprintf("progress %s %d/%d", ref, done, total))
}

func (c *capture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// archive is the decoded content of a written .tar.zst.
type archive struct {
	files  map[string][]byte // small files (index.json, manifests, configs)
	blobs  map[string]int    // blob digest -> times stored
	index  v1.IndexManifest
	window uint64
}

func readArchive(t *testing.T, path string) *archive {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr zstd.Header
	head := make([]byte, zstd.HeaderMaxSize)
	n, _ := io.ReadFull(f, head)
	if err := hdr.Decode(head[:n]); err != nil {
		t.Fatalf("%s: not a zstd frame: %v", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	a := &archive{files: map[string][]byte{}, blobs: map[string]int{}, window: hdr.WindowSize}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the tar in %s: %v", path, err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if d, ok := strings.CutPrefix(h.Name, "blobs/sha256/"); ok {
			a.blobs["sha256:"+d]++
		}
		if h.Size < 1<<20 {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			a.files[h.Name] = b
		}
	}
	if err := json.Unmarshal(a.files["index.json"], &a.index); err != nil {
		t.Fatalf("index.json: %v\n%s", err, a.files["index.json"])
	}
	if string(a.files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", a.files["oci-layout"])
	}
	return a
}

// entry finds the index.json entry named ref and checks both annotations.
func (a *archive) entry(t *testing.T, ref string) v1.Descriptor {
	t.Helper()
	for _, m := range a.index.Manifests {
		if m.Annotations[ociarchive.AnnotationContainerdName] == ref {
			if m.Annotations[ociarchive.AnnotationRefName] != ref {
				t.Errorf("%s: %s = %q, want the full reference", ref, ociarchive.AnnotationRefName, m.Annotations[ociarchive.AnnotationRefName])
			}
			return m
		}
	}
	t.Fatalf("index.json has no entry named %q: %+v", ref, a.index.Manifests)
	return v1.Descriptor{}
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}

// TestArchiveImportedByContainerd is the end-to-end proof: a real
// docker-registry behind TLS and htpasswd, our archive, real containerd.
func TestArchiveImportedByContainerd(t *testing.T) {
	if testing.Short() {
		t.Skip("real docker-registry and containerd: not with -short")
	}
	testenv.RequireRoot(t)
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

// TestPlatformsAndErrors runs against a real docker-registry with htpasswd
// auth: another platform, docker config credentials, digest references, then
// every bad input, each a clear error leaving no file behind.
func TestPlatformsAndErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("real docker-registry: not with -short")
	}
	reg := registrytest.Start(t, registrytest.WithAuth("builder", secret))
	fx := registrytest.PushFixtures(t, reg, 64<<10)
	auth := []ociarchive.Auth{{Registry: reg.Host, Username: "builder", Password: secret}}

	t.Run("platforms", func(t *testing.T) { testPlatforms(t, reg, fx, auth) })
	t.Run("errors", func(t *testing.T) { testErrors(t, reg, fx, auth) })
	t.Run("cancel", func(t *testing.T) { testCancel(t, reg, fx, auth) })
}

// testPlatforms: another platform, docker config credentials, digest
// references.
func testPlatforms(t *testing.T, reg *registrytest.Registry, fx *registrytest.Fixtures, auth []ociarchive.Auth) {
	t.Run("arm64", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "arm.tar.zst")
		res, err := ociarchive.Write(context.Background(), path, ociarchive.Options{
			References: []string{fx.Multi, fx.Arm64Only, fx.Multi}, Platform: "linux/arm64", Auth: auth,
		})
		if err != nil {
			t.Fatal(err)
		}
		a := readArchive(t, path)
		if e := a.entry(t, fx.Multi); e.Digest != fx.MultiDigest {
			t.Errorf("entry digest %s, want %s", e.Digest, fx.MultiDigest)
		}
		if a.blobs[fx.MultiArm64Layer.String()] != 1 || a.blobs[fx.MultiArm64Config.String()] != 1 {
			t.Errorf("arm64 config or layer missing: blobs %v", a.blobs)
		}
		// index, arm64 manifest+config+layer, amd64 manifest; armonly
		// manifest+config+layer.
		if res.Blobs != 8 {
			t.Errorf("Blobs = %d, want 8: %v", res.Blobs, a.blobs)
		}
		if len(res.Images) != 2 || len(a.index.Manifests) != 2 {
			t.Errorf("a reference listed twice must be bundled once: %+v", res.Images)
		}
	})

	t.Run("docker config credentials", func(t *testing.T) {
		// A docker config.json as `docker login` writes it.
		cfgDir := t.TempDir()
		enc := base64.StdEncoding.EncodeToString([]byte("builder:" + secret))
		cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, reg.Host, enc)
		if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("DOCKER_CONFIG", cfgDir)
		dir := t.TempDir()
		o := ociarchive.Options{References: []string{fx.AppA}}
		if _, err := ociarchive.Write(context.Background(), filepath.Join(dir, "a.tar.zst"), o); err == nil {
			t.Fatalf("Write without UseDockerConfig succeeded; it must not read the docker config")
		}
		o.UseDockerConfig = true
		res, err := ociarchive.Write(context.Background(), filepath.Join(dir, "a.tar.zst"), o)
		if err != nil {
			t.Fatalf("Write with UseDockerConfig: %v", err)
		}
		if res.Images[0].Digest != fx.AppADigest.String() {
			t.Errorf("digest %s, want %s", res.Images[0].Digest, fx.AppADigest)
		}
	})

	t.Run("digest references", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "d.tar.zst")
		byDigest := strings.Replace(fx.AppA, ":1.0", "@"+fx.AppADigest.String(), 1)
		tagAndDigest := fx.AppA + "@" + fx.AppADigest.String()
		res, err := ociarchive.Write(context.Background(), path, ociarchive.Options{
			References: []string{byDigest, tagAndDigest}, Auth: auth,
		})
		if err != nil {
			t.Fatal(err)
		}
		a := readArchive(t, path)
		for _, ref := range []string{byDigest, tagAndDigest} {
			if e := a.entry(t, ref); e.Digest != fx.AppADigest {
				t.Errorf("%s: digest %s, want %s", ref, e.Digest, fx.AppADigest)
			}
		}
		if res.Blobs != 4 {
			t.Errorf("Blobs = %d, want 4 (same image twice)", res.Blobs)
		}
	})
}

// testErrors: every bad input is a clear error that leaks no password and
// leaves no file behind.
func testErrors(t *testing.T, reg *registrytest.Registry, fx *registrytest.Fixtures, auth []ociarchive.Auth) {
	down := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // a closed port: connection refused
		return addr
	}()

	cases := []struct {
		name, path string
		o          ociarchive.Options
		want       []string
	}{
		{"unknown tag", "x.tar.zst", ociarchive.Options{References: []string{fx.AppA, reg.Ref("team/app-a:nope")}, Auth: auth},
			[]string{reg.Ref("team/app-a:nope"), "registry " + reg.Host, "404", "MANIFEST_UNKNOWN"}},
		{"unknown repository", "x.tar.zst", ociarchive.Options{References: []string{reg.Ref("nothere:1")}, Auth: auth},
			[]string{reg.Ref("nothere:1"), reg.Host, "404"}},
		{"wrong password", "x.tar.zst", ociarchive.Options{References: []string{fx.AppA}, Auth: []ociarchive.Auth{{Registry: reg.Host, Username: "builder", Password: secret + "-wrong"}}},
			[]string{fx.AppA, reg.Host, "401", "credentials"}},
		{"no credentials", "x.tar.zst", ociarchive.Options{References: []string{fx.AppA}},
			[]string{fx.AppA, reg.Host, "401"}},
		{"registry down", "x.tar.zst", ociarchive.Options{References: []string{down + "/app:1.0"}, Auth: auth},
			[]string{down + "/app:1.0", "cannot reach registry " + down, "connection refused"}},
		{"platform missing from index", "x.tar.zst", ociarchive.Options{References: []string{fx.Multi}, Platform: "linux/s390x", Auth: auth},
			[]string{fx.Multi, "no linux/s390x image", "linux/amd64 linux/arm64/v8"}},
		{"single-platform image of another arch", "x.tar.zst", ociarchive.Options{References: []string{fx.Arm64Only}, Auth: auth},
			[]string{fx.Arm64Only, "linux/arm64 only", "not linux/amd64"}},
		{"bad platform", "x.tar.zst", ociarchive.Options{References: []string{fx.AppA}, Platform: "amd64"},
			[]string{`platform "amd64"`, "linux/amd64"}},
		{"bad reference", "x.tar.zst", ociarchive.Options{References: []string{"Bad Ref"}, Auth: auth},
			[]string{`"Bad Ref"`, "not a valid reference"}},
		{"path without .tar.zst", "x.tar", ociarchive.Options{References: []string{fx.AppA}, Auth: auth},
			[]string{"x.tar", `must end in ".tar.zst"`}},
		{"no references", "x.tar.zst", ociarchive.Options{}, []string{"no image references"}},
		{"missing folder", "nope/x.tar.zst", ociarchive.Options{References: []string{fx.AppA}, Auth: auth},
			[]string{"does not exist"}},
		{"missing CA file", "x.tar.zst", ociarchive.Options{References: []string{fx.AppA}, Auth: auth, CAFiles: []string{"/nonexistent/ca.pem"}},
			[]string{"/nonexistent/ca.pem"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var logs capture
			c.o.Logf = logs.logf
			res, err := ociarchive.Write(context.Background(), filepath.Join(dir, c.path), c.o)
			if err == nil {
				t.Fatalf("Write succeeded (%+v), want an error", res)
			}
			t.Logf("error: %v", err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(logs.text(), secret) {
				t.Errorf("password leaked: error %q, log:\n%s", err, logs.text())
			}
			assertNoFiles(t, dir)
		})
	}
}

// testCancel: a cancelled Write returns context.Canceled and leaves nothing,
// between blobs and inside a layer.
func testCancel(t *testing.T, reg *registrytest.Registry, fx *registrytest.Fixtures, auth []ociarchive.Auth) {
	t.Run("between blobs", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := ociarchive.Write(ctx, filepath.Join(dir, "c.tar.zst"), ociarchive.Options{
			References: []string{fx.AppA, fx.AppB}, Auth: auth,
			Progress: func(string, int64, int64) { cancel() },
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Write after cancel = %v, want context.Canceled", err)
		}
		assertNoFiles(t, dir)
	})

	t.Run("inside a layer", func(t *testing.T) {
		// One 6 MiB layer: Progress fires inside it (every 4 MiB), and
		// the copy must stop at the next read, not run to the layer's end.
		big, _ := reg.PushImage(t, "team/big:1", registrytest.Image(t, "linux", "amd64", true, registrytest.Layer(t, 6<<20, true)))
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var after []string
		_, err := ociarchive.Write(ctx, filepath.Join(dir, "c.tar.zst"), ociarchive.Options{
			References: []string{big}, Auth: auth,
			Progress: func(ref string, done, total int64) {
				if ctx.Err() != nil {
					after = append(after, fmt.Sprintf("%d/%d", done, total))
					return
				}
				// Past the manifest and config: inside the layer.
				if done >= 4<<20 && done < total {
					cancel()
				}
			},
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Write after cancel = %v, want context.Canceled", err)
		}
		if len(after) > 0 {
			t.Errorf("the layer copy went on after the cancel: progress %v", after)
		}
		assertNoFiles(t, dir)
	})
}

// BenchmarkWrite bundles the standard fixtures (layers of 8 MiB) from a real
// docker-registry; see bench/images.sh for the comparison with skopeo.
func BenchmarkWrite(b *testing.B) {
	reg := registrytest.Start(b)
	fx := registrytest.PushFixtures(b, reg, 8<<20)
	dir := b.TempDir()
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := ociarchive.Write(context.Background(), filepath.Join(dir, "b.tar.zst"), ociarchive.Options{
			References: []string{fx.Multi, fx.AppA, fx.AppB},
		})
		if err != nil {
			b.Fatal(err)
		}
		size = res.TarSize
	}
	b.SetBytes(size)
}
