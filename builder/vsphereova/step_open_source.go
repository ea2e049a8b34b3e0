package vsphereova

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// stepOpenSource downloads (URLs), checks and indexes the source before
// anything is created in vSphere, so every error here is cheap.
type stepOpenSource struct{ config *SourceConfig }

func (s *stepOpenSource) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Opening source %s ...", s.config.SourcePath))
	src, err := openSource(ctx, s.config, func(name string, size int64, r io.ReadCloser) io.ReadCloser {
		return progress.Track(ui, name, size, r)
	})
	if err != nil {
		return halt(state, err)
	}
	state.Put("source", src)
	return multistep.ActionContinue
}

// Cleanup closes the source and removes a downloaded copy.
func (s *stepOpenSource) Cleanup(state multistep.StateBag) {
	if src, ok := state.GetOk("source"); ok {
		if err := src.(*ovasource.Source).Close(); err != nil {
			log.Printf("closing source: %v", err)
		}
	}
}

// openSource opens the configured source (internal/ovasource).
func openSource(ctx context.Context, c *SourceConfig, progress ovasource.ProgressFunc) (*ovasource.Source, error) {
	return ovasource.Open(ctx, ovasource.Options{Path: c.SourcePath, Checksum: c.SourceChecksum, Progress: progress})
}
