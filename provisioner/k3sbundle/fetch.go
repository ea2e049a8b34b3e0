package k3sbundle

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sumfile"
)

// binaryAsset and airgapAsset are k3s's release asset names for an arch.
func binaryAsset(arch string) string {
	if arch == "amd64" {
		return "k3s"
	}
	return "k3s-" + arch
}

func airgapAsset(arch string) string { return "k3s-airgap-images-" + arch + ".tar.zst" }

func checksumAsset(arch string) string { return "sha256sum-" + arch + ".txt" }

// assetURL escapes the `+` of k3s versions, which GitHub requires.
func assetURL(base, version, asset string) string {
	return base + "/" + strings.ReplaceAll(url.PathEscape(version), "+", "%2B") + "/" + asset
}

// maxSumFile bounds a checksum file: k3s's are a few KB; anything this big
// is not one.
const maxSumFile = 1 << 20

// fetcher downloads release assets, verifies them and caches them by sha256.
type fetcher struct {
	client   *http.Client
	cacheDir string
	ui       packersdk.Ui
}

// open returns a reader for an http(s):// or file:// URL with its size (-1 if
// unknown).
func (f *fetcher) open(ctx context.Context, rawURL string) (io.ReadCloser, int64, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, 0, fmt.Errorf("parse URL %q: %w", rawURL, err)
	}
	if u.Scheme == "file" {
		fh, err := os.Open(u.Path)
		if err != nil {
			return nil, 0, err
		}
		fi, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, 0, err
		}
		return fh, fi.Size(), nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("GET %s: HTTP %s", rawURL, resp.Status)
	}
	return resp.Body, resp.ContentLength, nil
}

// checksums reads a sha256sum-format file (URL or local path).
func (f *fetcher) checksums(ctx context.Context, src string) (*sumfile.File, error) {
	var r io.ReadCloser
	var err error
	if strings.Contains(src, "://") {
		r, _, err = f.open(ctx, src)
	} else {
		r, err = os.Open(src)
	}
	if err != nil {
		return nil, fmt.Errorf("read checksum file %s: %w", src, err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(ctxio.Reader(ctx, r), maxSumFile+1))
	if err != nil {
		return nil, fmt.Errorf("read checksum file %s: %w", src, err)
	}
	if len(data) > maxSumFile {
		return nil, fmt.Errorf("checksum file %s is larger than %d bytes; give a sha256sum file (`<hex>  <asset name>` lines)", src, maxSumFile)
	}
	sums, err := sumfile.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("checksum file %s: %w", src, err)
	}
	return sums, nil
}

// get returns the cached path of asset, downloading it from rawURL when the
// cache lacks a file with the expected sha256. The download is written
// through internal/atomicfile and committed only once its digest matched, so
// an interrupted or corrupt download never looks cached.
func (f *fetcher) get(ctx context.Context, rawURL, asset, want string) (string, error) {
	dir := filepath.Join(f.cacheDir, "sha256", want)
	dst := filepath.Join(dir, asset)
	if got, err := fileSHA256(dst); err == nil && got == want {
		f.ui.Sayf("Using cached %s (sha256 %s)", asset, want)
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache folder: %w", err)
	}
	body, size, err := f.open(ctx, rawURL)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", asset, err)
	}
	defer body.Close()
	out, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return "", fmt.Errorf("cache %s: %w", asset, err)
	}
	defer out.Abort()
	f.ui.Sayf("Downloading %s", rawURL)
	tracked := progress.Track(f.ui, asset, size, body)
	h := sha256.New()
	_, err = ctxio.Copy(ctx, io.MultiWriter(out, h), tracked)
	tracked.Close()
	if err != nil {
		return "", fmt.Errorf("download %s from %s: %w", asset, rawURL, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", fmt.Errorf("checksum mismatch for %s downloaded from %s: sha256 is %s, but the checksum file says %s; "+
			"the mirror or download is corrupt, or k3s_version/arch/checksum_file do not match", asset, rawURL, got, want)
	}
	if err := out.Commit(ctx); err != nil {
		return "", fmt.Errorf("store %s in cache: %w", asset, err)
	}
	return dst, nil
}

func fileSHA256(p string) (string, error) {
	fh, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer fh.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fh); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
