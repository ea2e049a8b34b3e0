package vsphereovaqemu

import (
	"context"
	"fmt"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// stepReadMachine reads the machine the source's OVF describes
// (ovf_machine.go), right after the source is opened and before anything
// is written.
type stepReadMachine struct{ config *common.SourceConfig }

func (s *stepReadMachine) Run(_ context.Context, state multistep.StateBag) multistep.StepAction {
	src := state.Get("source").(*ovasource.Source)
	doc, err := ovf.ParseDocument(src.Descriptor)
	var m *ovfMachine
	if err == nil {
		m, err = readMachine(doc)
	}
	if err != nil {
		return halt(state, fmt.Errorf("source_path %s: %s: %w", ovasource.Redact(s.config.SourcePath), src.OVFName, err))
	}
	state.Put("ovf_machine", m)
	return multistep.ActionContinue
}

func (s *stepReadMachine) Cleanup(multistep.StateBag) {}
