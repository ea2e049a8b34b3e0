// Package k3sbundle is the `k3s-bundle` provisioner (HCL
// `vsphere-ova-k3s-bundle`): an air-gapped k3s install with preloaded images,
// manifests and charts, for any builder and communicator.
//
// Provision runs in three parts: on the build host it fetches the k3s assets
// (fetch.go, assets.go) and computes the plan of files to install (plan.go),
// then bundles the images (images.go); on the guest it uploads and runs one
// generated script (remote.go) whose shell source lives in guest/
// (script.go renders it).
package k3sbundle

import (
	"context"
	"fmt"
	"net/http"
	"os"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// Guest folders k3s reads at start.
const (
	ImagesDir    = "/var/lib/rancher/k3s/agent/images"
	ManifestsDir = "/var/lib/rancher/k3s/server/manifests"
	ChartsDir    = "/var/lib/rancher/k3s/server/static/charts"
	EtcDir       = "/etc/rancher/k3s"
	// BundleImagesName is the archive written from `images`/`images_file`.
	BundleImagesName = "k3s-bundle-images.tar.zst"
)

// Provisioner implements packersdk.Provisioner.
type Provisioner struct {
	config Config
	client *http.Client // nil: http.DefaultTransport
}

var _ packersdk.Provisioner = (*Provisioner)(nil)

// ConfigSpec returns the HCL2 spec of Config.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// Provision fetches and checks everything on the build host first, so a bad
// download, name or image never touches the guest; then it installs on the
// guest, which rolls itself back if any step fails.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generated map[string]interface{}) error {
	c := &p.config
	ui.Say("Installing k3s air-gap bundle")
	tmpDir, err := os.MkdirTemp("", "k3s-bundle-")
	if err != nil {
		return fmt.Errorf("create temp folder: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	bin, airgap, err := p.resolveAssets(ctx, ui)
	if err != nil {
		return err
	}
	pl, err := newPlan(c, bin, airgap, tmpDir)
	if err != nil {
		return err
	}
	var images []string
	if len(pl.refs) > 0 {
		if images, err = p.bundleImages(ctx, ui, pl.refs, pl.bundle); err != nil {
			return err
		}
	}
	g := &guest{comm: comm, ui: ui}
	if err := g.install(ctx, c, pl.files, images); err != nil {
		return err
	}
	ui.Say("k3s bundle installed")
	return nil
}
