package vsphereovaqemu

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

// stepOpenSource downloads (URLs), checks and indexes the source and reads
// the machine its OVF describes, before anything is written.
type stepOpenSource struct{ config *SourceConfig }

func (s *stepOpenSource) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Opening source %s ...", redact(s.config.SourcePath)))
	src, err := ovasource.Open(ctx, ovasource.Options{
		Path:     s.config.SourcePath,
		Checksum: s.config.SourceChecksum,
		Progress: func(name string, size int64, r io.ReadCloser) io.ReadCloser {
			return progress.Track(ui, name, size, r)
		},
	})
	if err != nil {
		return halt(state, err)
	}
	state.Put("source", src)
	m, err := readMachine(src.Envelope)
	if err != nil {
		return halt(state, fmt.Errorf("source_path %s: %s: %w", redact(s.config.SourcePath), src.OVFName, err))
	}
	state.Put("ovf_machine", m)
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
