package k3sbundle

import (
	"context"
	"fmt"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// bundleImages pulls refs into the OCI archive out and returns the full
// names stored in it (what `verify` waits for).
func (p *Provisioner) bundleImages(ctx context.Context, ui packersdk.Ui, refs []string, out string) ([]string, error) {
	c := &p.config
	o := ociarchive.Options{
		References:      refs,
		Platform:        "linux/" + c.Arch,
		UseDockerConfig: c.UseDockerConfig,
		CAFiles:         c.RegistryCAFiles,
		Insecure:        c.InsecureRegistries,
		Logf:            func(format string, args ...any) { ui.Sayf(format, args...) },
	}
	for _, a := range c.RegistryAuth {
		o.Auth = append(o.Auth, ociarchive.Auth{Registry: a.Registry, Username: a.Username, Password: a.Password, Token: a.Token})
	}
	last := map[string]int64{}
	o.Progress = func(ref string, done, total int64) {
		// One line per 25% per image keeps build logs readable.
		if total <= 0 {
			return
		}
		step := done * 4 / total
		if step > last[ref] || done == total && last[ref] < 4 {
			last[ref] = step
			ui.Sayf("Pulling %s: %d/%d bytes", ref, done, total)
		}
	}
	ui.Sayf("Bundling %d image(s) for linux/%s", len(refs), c.Arch)
	res, err := ociarchive.Write(ctx, out, o)
	if err != nil {
		return nil, fmt.Errorf("bundle images: %w", err)
	}
	ui.Sayf("Image bundle: %d image(s), %d blob(s), %d bytes", len(res.Images), res.Blobs, res.Size)
	names := make([]string, len(res.Images))
	for i, im := range res.Images {
		names[i] = im.Reference
	}
	return names, nil
}
