package vsphereova

import (
	"context"
	"fmt"
	"maps"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// registryInfo is what the artifact reports to an HCP Packer registry
// (artifact.go). It is read while the VM still exists: by the time the
// artifact is made, a VM that is not kept has been destroyed.
type registryInfo struct {
	Region string
	Labels map[string]string
}

// stepCollectMetadata reads where the VM was built and its final hardware,
// after shutdown and before export, for the HCP Packer registry. A failure
// is reported and does not stop the build: the metadata is a description of
// the artifact, not part of it.
type stepCollectMetadata struct {
	server string // vcenter_server
	source string // source_path
}

func (s *stepCollectMetadata) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	info, err := s.collect(ctx, state)
	if err != nil {
		ui.Say(fmt.Sprintf("Warning: reading the VM's details for the HCP Packer registry: %v", err))
	}
	state.Put("registry_image", info)
	return multistep.ActionContinue
}

func (s *stepCollectMetadata) collect(ctx context.Context, state multistep.StateBag) (*registryInfo, error) {
	info := &registryInfo{Labels: map[string]string{"source": ovasource.Redact(s.source)}}
	if u, err := vsphere.ServerURL(s.server); err == nil {
		info.Labels["vcenter_server"] = u.Host
	}
	if p, ok := state.Get("placement").(*vsphere.Placement); ok {
		info.Region = p.Datacenter.Name()
		maps.Copy(info.Labels, p.Labels())
	}
	vm, ok := state.Get("vm").(*vsphere.Machine)
	if !ok {
		return info, nil
	}
	labels, err := vm.Labels(ctx)
	maps.Copy(info.Labels, labels)
	return info, err
}

func (s *stepCollectMetadata) Cleanup(multistep.StateBag) {}
