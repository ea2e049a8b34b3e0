package ociarchive_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/registrytest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// TestPlatformsAndErrors runs against a real docker-registry with htpasswd
// auth: another platform, docker config credentials, digest references, then
// every bad input, each a clear error leaving no file behind.
func TestPlatformsAndErrors(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "real docker-registry")
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
