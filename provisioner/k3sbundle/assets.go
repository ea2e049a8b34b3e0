package k3sbundle

import (
	"context"
	"fmt"
	"net/http"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sumfile"
)

// assets resolves the k3s release assets of one build against one checksum
// file.
type assets struct {
	c    *Config
	f    *fetcher
	sums *sumfile.File // nil when nothing is downloaded or checked
	src  string        // where sums came from
}

// resolveAssets returns local paths of the k3s binary and air-gap archive
// ("" when skipped), downloading and verifying what is not given locally.
func (p *Provisioner) resolveAssets(ctx context.Context, ui packersdk.Ui) (bin, airgap string, err error) {
	c := &p.config
	a := &assets{c: c, f: &fetcher{client: p.httpClient(), cacheDir: c.CacheDir, ui: ui}}
	needAirgap := c.AirgapImages == "" && !c.SkipAirgapImages
	if c.ChecksumFile != "" || c.K3sBinary == "" || needAirgap {
		a.src = c.ChecksumFile
		if a.src == "" {
			a.src = assetURL(c.ReleaseURL, c.K3sVersion, checksumAsset(c.Arch))
		}
		if a.sums, err = a.f.checksums(ctx, a.src); err != nil {
			return "", "", err
		}
	}
	if c.K3sBinary != "" {
		bin = c.K3sBinary
		if err := a.verifyLocal("k3s_binary", bin, binaryAsset(c.Arch)); err != nil {
			return "", "", err
		}
	} else if bin, err = a.fetch(ctx, binaryAsset(c.Arch)); err != nil {
		return "", "", err
	}
	switch {
	case c.SkipAirgapImages:
	case c.AirgapImages != "":
		airgap = c.AirgapImages
		if err := a.verifyLocal("airgap_images", airgap, airgapAsset(c.Arch)); err != nil {
			return "", "", err
		}
	default:
		if airgap, err = a.fetch(ctx, airgapAsset(c.Arch)); err != nil {
			return "", "", err
		}
	}
	return bin, airgap, nil
}

// lookup is the sha256 the checksum file lists for asset.
func (a *assets) lookup(asset string) (string, error) {
	want, ok := a.sums.Lookup(asset)
	if !ok {
		return "", fmt.Errorf("checksum file %s for k3s %s has no entry for %s; check k3s_version, arch and checksum_file", a.src, a.c.K3sVersion, asset)
	}
	if len(want) != 64 {
		return "", fmt.Errorf("checksum file %s for k3s %s lists a %d-digit digest for %s, not a sha256; give a sha256sum file as checksum_file", a.src, a.c.K3sVersion, len(want), asset)
	}
	return want, nil
}

// verifyLocal checks a local asset given by option opt against an explicit
// checksum_file; without one, local files are used as they are.
func (a *assets) verifyLocal(opt, local, asset string) error {
	if a.sums == nil || a.c.ChecksumFile == "" {
		return nil
	}
	want, err := a.lookup(asset)
	if err != nil {
		return fmt.Errorf("%s: %w", opt, err)
	}
	got, err := fileSHA256(local)
	if err != nil {
		return fmt.Errorf("%s: %w", opt, err)
	}
	if got != want {
		return fmt.Errorf("%s: checksum mismatch for %s: sha256 is %s, but %s says %s", opt, local, got, a.c.ChecksumFile, want)
	}
	return nil
}

// fetch downloads asset from the release (or takes it from the cache).
func (a *assets) fetch(ctx context.Context, asset string) (string, error) {
	want, err := a.lookup(asset)
	if err != nil {
		return "", err
	}
	return a.f.get(ctx, assetURL(a.c.ReleaseURL, a.c.K3sVersion, asset), asset, want)
}

func (p *Provisioner) httpClient() *http.Client {
	if p.client != nil {
		return p.client
	}
	return &http.Client{Transport: http.DefaultTransport}
}
