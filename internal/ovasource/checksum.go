package ovasource

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"regexp"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sumfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

var checksumRE = regexp.MustCompile(`^(?i)(md5|sha1|sha256|sha512):([0-9a-f]+)$`)

// CheckChecksumSpec says what is wrong with a source_checksum value, for a
// builder's Prepare. The conventions are Packer's iso_checksum's:
// <algorithm>:<hex>, file:<path or URL of a checksum file>, or none; ""
// is none too.
func CheckChecksumSpec(spec string) error {
	if spec != "" && spec != "none" && !checksumRE.MatchString(spec) && (!strings.HasPrefix(spec, "file:") || spec == "file:") {
		return fmt.Errorf("source_checksum %q: expected <algorithm>:<hex> (md5, sha1, sha256, sha512), file:<path or URL of a checksum file>, or none", spec)
	}
	return nil
}

// NoChecksum reports whether spec asks for no checksum ("" or none).
func NoChecksum(spec string) bool { return spec == "" || spec == "none" }

// IsURL reports whether a source_path is an http(s) URL.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// verifyChecksum hashes the local copy of the source (orig, as the user
// named it) against source_checksum.
func verifyChecksum(ctx context.Context, local, orig, spec string) error {
	alg, want, err := resolveChecksum(ctx, spec, orig)
	if err != nil {
		return err
	}
	h, err := newChecksumHash(alg)
	if err != nil {
		return err
	}
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := ctxio.Copy(ctx, h, f); err != nil {
		return fmt.Errorf("computing the checksum of %s: %w", Redact(orig), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("source_checksum mismatch for %s: expected %s:%s, computed %s:%s; the file is corrupt or not the one you meant", Redact(orig), alg, want, alg, got)
	}
	return nil
}

// newChecksumHash is the manifest algorithms plus md5, which published
// checksum files (not manifests) still use.
func newChecksumHash(alg string) (hash.Hash, error) {
	if alg == "md5" {
		return md5.New(), nil
	}
	return ovf.NewHash(alg)
}

// resolveChecksum returns the algorithm and digest from `alg:hex`, or from
// the entry for the source's base name in a sha256sum-style file
// (`file:path`), guessing the algorithm from the digest's length.
func resolveChecksum(ctx context.Context, spec, orig string) (alg, digest string, err error) {
	if m := checksumRE.FindStringSubmatch(spec); m != nil {
		return strings.ToLower(m[1]), strings.ToLower(m[2]), nil
	}
	p := strings.TrimPrefix(spec, "file:")
	data, err := readChecksumFile(ctx, p)
	if err != nil {
		return "", "", fmt.Errorf("source_checksum: reading checksum file: %w", err)
	}
	p = Redact(p)
	sums, err := sumfile.Parse(data)
	if err != nil {
		return "", "", fmt.Errorf("source_checksum: %s: %w", p, err)
	}
	base := path.Base(strings.SplitN(orig, "?", 2)[0])
	d, ok := sums.Lookup(base)
	if !ok {
		return "", "", fmt.Errorf("source_checksum: %s lists no digest for %q", p, base)
	}
	switch len(d) {
	case 32:
		return "md5", d, nil
	case 40:
		return "sha1", d, nil
	case 64:
		return "sha256", d, nil
	case 128:
		return "sha512", d, nil
	}
	return "", "", fmt.Errorf("source_checksum: %s: the digest for %s has %d hex digits, which is no known algorithm (md5 32, sha1 40, sha256 64, sha512 128)", p, base, len(d))
}

// maxChecksumFile bounds a checksum file read from a URL.
const maxChecksumFile = 1 << 20

// readChecksumFile reads a local checksum file, or fetches one from an
// http(s) URL.
func readChecksumFile(ctx context.Context, p string) ([]byte, error) {
	if !IsURL(p) {
		return os.ReadFile(p)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Redact(p), redactErr(err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, redactErr(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s", Redact(p), resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxChecksumFile))
}
