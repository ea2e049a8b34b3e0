package common

import (
	"context"
	"fmt"
	"log"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// StepOpenSource downloads (URLs, through the SDK's download step into
// Packer's cache: source_download.go), checks and indexes the source
// (internal/ovasource) before anything is created, so every error here is
// cheap. It puts the *ovasource.Source in state as "source"; Cleanup closes
// it (the cached download stays for the next build).
type StepOpenSource struct {
	Path     string // source_path
	Checksum string // source_checksum
}

func (s *StepOpenSource) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Opening source %s ...", ovasource.Redact(s.Path)))
	var local string
	if ovasource.IsURL(s.Path) {
		var err error
		if local, err = s.downloadSource(ctx, state); err != nil {
			return Halt(state, err)
		}
	}
	src, err := ovasource.Open(ctx, ovasource.Options{
		Path:     s.Path,
		Local:    local,
		Checksum: s.Checksum,
	})
	if err != nil {
		return Halt(state, err)
	}
	for _, w := range src.Warnings {
		ui.Error("Warning: " + w)
	}
	state.Put("source", src)
	return multistep.ActionContinue
}

// Cleanup closes the source and removes a downloaded copy.
func (s *StepOpenSource) Cleanup(state multistep.StateBag) {
	if src, ok := state.GetOk("source"); ok {
		if err := src.(*ovasource.Source).Close(); err != nil {
			log.Printf("closing source: %v", err)
		}
	}
}
