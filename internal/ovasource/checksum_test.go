package ovasource

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveChecksum(t *testing.T) {
	dir := t.TempDir()
	sums := filepath.Join(dir, "SHA256SUMS")
	d := strings.Repeat("ab", 32)
	other := strings.Repeat("cd", 32)
	if err := os.WriteFile(sums, []byte(other+"  other.ova\n"+d+" *base.ova\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	alg, got, err := resolveChecksum(context.Background(), "file:"+sums, "https://example.com/x/base.ova?sig=1")
	if err != nil || alg != "sha256" || got != d {
		t.Errorf("resolveChecksum = %q, %q, %v", alg, got, err)
	}
	if _, _, err := resolveChecksum(context.Background(), "file:"+sums, "/tmp/missing.ova"); err == nil || !strings.Contains(err.Error(), `no digest for "missing.ova"`) {
		t.Errorf("missing entry: err = %v", err)
	}
	alg, got, err = resolveChecksum(context.Background(), "SHA512:"+strings.Repeat("C", 128), "x.ova")
	if err != nil || alg != "sha512" || got != strings.Repeat("c", 128) {
		t.Errorf("SHA512:<HEX> = %q, %q, %v", alg, got, err)
	}
	md5sums := filepath.Join(dir, "MD5SUMS")
	if err := os.WriteFile(md5sums, []byte(strings.Repeat("0f", 16)+"  base.ova\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if alg, _, err := resolveChecksum(context.Background(), "file:"+md5sums, "base.ova"); err != nil || alg != "md5" {
		t.Errorf("md5 file: %q, %v", alg, err)
	}
	bad := filepath.Join(dir, "BAD")
	if err := os.WriteFile(bad, []byte("not a checksum line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := resolveChecksum(context.Background(), "file:"+bad, "base.ova"); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed file: %v", err)
	}
}

func TestVerifyChecksum(t *testing.T) {
	p := filepath.Join(t.TempDir(), "base.ova")
	if err := os.WriteFile(p, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const sha256Hello = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	if err := verifyChecksum(context.Background(), p, p, "sha256:"+sha256Hello); err != nil {
		t.Errorf("good checksum: %v", err)
	}
	if err := verifyChecksum(context.Background(), p, p, "md5:"+strings.Repeat("0", 32)); err == nil || !strings.Contains(err.Error(), "source_checksum mismatch") {
		t.Errorf("bad checksum: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := verifyChecksum(ctx, p, p, "sha256:"+sha256Hello); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("cancelled: %v", err)
	}
}

// file: takes a checksum file's URL too, and none (or "") checks nothing.
func TestChecksumFileURLAndNone(t *testing.T) {
	p := filepath.Join(t.TempDir(), "base.ova")
	if err := os.WriteFile(p, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const sha256Hello = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/SHA256SUMS" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(sha256Hello + "  base.ova\n"))
	}))
	defer hs.Close()
	if err := verifyChecksum(context.Background(), p, p, "file:"+hs.URL+"/SHA256SUMS"); err != nil {
		t.Errorf("file:<url>: %v", err)
	}
	if err := verifyChecksum(context.Background(), p, p, "file:"+hs.URL+"/gone?tok=secret"); err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "secret") {
		t.Errorf("file:<url> 404: %v", err)
	}
	for _, spec := range []string{"none", "", "sha256:" + sha256Hello, "file:x"} {
		if err := CheckChecksumSpec(spec); err != nil {
			t.Errorf("%q refused: %v", spec, err)
		}
	}
	for _, spec := range []string{"sha256-ab", "file:", "None"} {
		if err := CheckChecksumSpec(spec); err == nil {
			t.Errorf("%q accepted", spec)
		}
	}
}
