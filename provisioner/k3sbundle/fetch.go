package k3sbundle

import (
	"bufio"
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

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
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

// checksums reads a sha256sum-format file (URL or local path) into name -> hex.
func (f *fetcher) checksums(ctx context.Context, src string) (map[string]string, error) {
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
	sums := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 || len(fields[0]) != 64 {
			return nil, fmt.Errorf("checksum file %s line %d: %q is not `<sha256 hex>  <file name>`", src, n, line)
		}
		if _, err := hex.DecodeString(fields[0]); err != nil {
			return nil, fmt.Errorf("checksum file %s line %d: %q is not a hex sha256", src, n, fields[0])
		}
		sums[strings.TrimPrefix(fields[1], "*")] = strings.ToLower(fields[0])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read checksum file %s: %w", src, err)
	}
	return sums, nil
}

// get returns the cached path of asset, downloading it from rawURL when the
// cache lacks a file with the expected sha256. The download goes to a temp
// file in the cache folder and is renamed only once its digest matched, so an
// interrupted or corrupt download never looks cached.
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
	tmp, err := os.CreateTemp(dir, "."+asset+".part-*")
	if err != nil {
		return "", fmt.Errorf("create temp file in cache: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	f.ui.Sayf("Downloading %s", rawURL)
	tracked := f.ui.TrackProgress(asset, 0, size, body)
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), readerCtx{ctx, tracked})
	tracked.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("download %s from %s: %w", asset, rawURL, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", fmt.Errorf("checksum mismatch for %s downloaded from %s: sha256 is %s, but the checksum file says %s; "+
			"the mirror or download is corrupt, or k3s_version/arch/checksum_file do not match", asset, rawURL, got, want)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", fmt.Errorf("store %s in cache: %w", asset, err)
	}
	return dst, nil
}

// readerCtx stops a copy when the build is cancelled.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
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

// resolveAssets returns local paths of the k3s binary and air-gap archive
// ("" when skipped), downloading and verifying what is not given locally.
func (p *Provisioner) resolveAssets(ctx context.Context, ui packersdk.Ui) (bin, airgap string, err error) {
	c := &p.config
	f := &fetcher{client: p.httpClient(), cacheDir: c.CacheDir, ui: ui}
	needAirgap := c.AirgapImages == "" && !c.SkipAirgapImages
	var sums map[string]string
	if c.ChecksumFile != "" || c.K3sBinary == "" || needAirgap {
		src := c.ChecksumFile
		if src == "" {
			src = assetURL(c.ReleaseURL, c.K3sVersion, checksumAsset(c.Arch))
		}
		if sums, err = f.checksums(ctx, src); err != nil {
			return "", "", err
		}
	}
	lookup := func(asset string) (string, error) {
		want, ok := sums[asset]
		if !ok {
			return "", fmt.Errorf("checksum file for k3s %s has no entry for %s; check k3s_version, arch and checksum_file", c.K3sVersion, asset)
		}
		return want, nil
	}
	verifyLocal := func(opt, local, asset string) error {
		if sums == nil || c.ChecksumFile == "" {
			return nil
		}
		want, err := lookup(asset)
		if err != nil {
			return fmt.Errorf("%s: %w", opt, err)
		}
		got, err := fileSHA256(local)
		if err != nil {
			return fmt.Errorf("%s: %w", opt, err)
		}
		if got != want {
			return fmt.Errorf("%s: checksum mismatch for %s: sha256 is %s, but %s says %s", opt, local, got, c.ChecksumFile, want)
		}
		return nil
	}
	fetch := func(asset string) (string, error) {
		want, err := lookup(asset)
		if err != nil {
			return "", err
		}
		return f.get(ctx, assetURL(c.ReleaseURL, c.K3sVersion, asset), asset, want)
	}
	if c.K3sBinary != "" {
		bin = c.K3sBinary
		if err := verifyLocal("k3s_binary", bin, binaryAsset(c.Arch)); err != nil {
			return "", "", err
		}
	} else if bin, err = fetch(binaryAsset(c.Arch)); err != nil {
		return "", "", err
	}
	switch {
	case c.SkipAirgapImages:
	case c.AirgapImages != "":
		airgap = c.AirgapImages
		if err := verifyLocal("airgap_images", airgap, airgapAsset(c.Arch)); err != nil {
			return "", "", err
		}
	default:
		if airgap, err = fetch(airgapAsset(c.Arch)); err != nil {
			return "", "", err
		}
	}
	return bin, airgap, nil
}

func (p *Provisioner) httpClient() *http.Client {
	if p.client != nil {
		return p.client
	}
	return &http.Client{Transport: http.DefaultTransport}
}
