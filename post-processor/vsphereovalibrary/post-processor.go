// Package vsphereovalibrary is the `vsphere-ova-library` post-processor: it
// publishes the OVA (or OVF) of the artifact before it to a vSphere Content
// Library as an OVF template, through govmomi's library API (no ovftool).
// The package's files are streamed straight out of the OVA, each with its
// manifest digest, which vCenter checks; an interrupted publication leaves
// nothing behind.
package vsphereovalibrary

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
)

// BuilderId identifies this post-processor's artifacts.
const BuilderId = "ovakit.vsphere-ova-library"

// PostProcessor implements packersdk.PostProcessor.
type PostProcessor struct {
	config Config
}

var _ packersdk.PostProcessor = (*PostProcessor)(nil)

func (p *PostProcessor) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

func (p *PostProcessor) Configure(raws ...interface{}) error { return p.config.Prepare(raws...) }

// PostProcess publishes the artifact's OVA. The input artifact is kept: the
// OVA stays a file users can also ship.
func (p *PostProcessor) PostProcess(ctx context.Context, ui packersdk.Ui, in packersdk.Artifact) (packersdk.Artifact, bool, bool, error) {
	path, skipped, err := pickInput(in.Files())
	if err != nil {
		return nil, false, false, err
	}
	for _, s := range skipped {
		ui.Say(fmt.Sprintf("Leaving out %s: one OVA is published, the first (%s)", s, path))
	}
	src, files, err := openPackage(ctx, path)
	if err != nil {
		return nil, false, false, err
	}
	defer src.Close()
	for _, w := range src.Warnings {
		ui.Say("Warning: " + w)
	}
	item := p.config.Name
	if item == "" {
		item = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	for _, f := range files {
		if f.Digest == "" {
			ui.Say(fmt.Sprintf("Warning: %s is not in a manifest: vCenter cannot check its content", f.Name))
		}
	}

	c, err := vsphere.Connect(ctx, p.config.Options())
	if err != nil {
		return nil, false, false, err
	}
	defer vsphere.Logout(c)
	lib, err := vsphere.NewLibrary(ctx, c, p.config.Options())
	if err != nil {
		return nil, false, false, err
	}
	defer lib.Close()

	ui.Say(fmt.Sprintf("Publishing %s to content library %q as item %q (%d files) ...", path, p.config.Library, item, len(files)))
	track := func(name string, size int64, rc io.ReadCloser) io.ReadCloser {
		ui.Say(fmt.Sprintf("Uploading %s (%d bytes) ...", name, size))
		return progress.Track(ui, name, size, rc)
	}
	pub, err := lib.Publish(ctx, vsphere.LibraryOptions{
		Library: p.config.Library, Item: item, Description: p.config.Description,
		CreateLibrary: p.config.CreateLibrary, Datastore: p.config.Datastore, Replace: p.config.Replace.True(),
	}, files, track)
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, false, fmt.Errorf("publishing %s was cancelled; the update session was cancelled and nothing was published: %w", path, err)
		}
		return nil, false, false, fmt.Errorf("publishing %s to content library %q: %w", path, p.config.Library, err)
	}
	verb := "Published a new version of"
	if pub.Created {
		verb = "Published"
	}
	ui.Say(fmt.Sprintf("%s library item %q (id %s, version %s) in %q", verb, item, pub.ItemID, pub.Version, pub.LibraryName))
	host := strings.TrimSuffix(c.URL().Host, ":443")
	return &Artifact{Item: item, ItemID: pub.ItemID, Version: pub.Version, Library: pub.LibraryName, LibraryID: pub.LibraryID,
		Server: host, Source: path, Created: pub.Created, source: in}, true, false, nil
}
