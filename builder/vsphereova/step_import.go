package vsphereova

import (
	"context"
	"fmt"
	"io"
	"log"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// stepImport resolves the placement, imports the source through the OVF
// manager and an NFC lease, and destroys the VM in Cleanup unless the build
// succeeded and keeps it.
type stepImport struct {
	location *LocationConfig
	config   *ImportConfig
	output   *OutputConfig
	vm       *vsphere.Machine
}

func (s *stepImport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	c := state.Get("client").(*vsphere.Client)
	src := state.Get("source").(*ovasource.Source)

	p, err := vsphere.ResolvePlacement(ctx, c, s.placementSpec(), src.Envelope)
	if err != nil {
		return halt(state, err)
	}
	state.Put("placement", p)
	im, err := vsphere.NewImport(ctx, c, string(src.Descriptor), src.OVFName, p, vsphere.ImportOptions{
		Name:             s.location.VMName,
		DiskProvisioning: s.config.DiskProvisioning,
		DeploymentOption: s.config.DeploymentOption,
		Properties:       s.config.VApp.Properties,
	})
	if err != nil {
		return halt(state, err)
	}
	for _, w := range im.Warnings {
		ui.Say("Warning: " + w)
	}

	ui.Say(fmt.Sprintf("Importing %s as VM %q into %s ...", src.OVFName, s.location.VMName, p.Datastore.Name()))
	open := func(name string) (io.ReadCloser, int64, error) {
		r, size, err := src.OpenFile(name)
		if err != nil {
			return nil, 0, err
		}
		ui.Say(fmt.Sprintf("Uploading %s (%d bytes) ...", name, size))
		log.Printf("upload started: %s", name)
		return progress.Track(ui, name, size, r), size, nil
	}
	err = im.Run(ctx, open, func(m *vsphere.Machine) {
		// Remember the VM first, so Cleanup destroys it however the upload ends.
		s.vm = m
		state.Put("vm", m)
		state.Put("machine", common.Machine(m))
		state.Put("exporter", exporter(m))
	})
	if err != nil {
		return halt(state, fmt.Errorf("importing %s: %w", src.OVFName, err))
	}
	ui.Say("Import complete")
	return multistep.ActionContinue
}

// Cleanup destroys the VM, unless the build succeeded and keeps it.
func (s *stepImport) Cleanup(state multistep.StateBag) {
	if s.vm == nil || (!failed(state) && s.output.keepsVM()) {
		return
	}
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Destroying VM %q ...", s.location.VMName))
	if err := s.vm.Destroy(); err != nil {
		ui.Error(fmt.Sprintf("Destroying VM %q: %v; delete it by hand", s.location.VMName, err))
	}
}

// placementSpec is where the location and network_mapping options put the VM.
func (s *stepImport) placementSpec() vsphere.PlacementSpec {
	l := s.location
	spec := vsphere.PlacementSpec{Datacenter: l.Datacenter, Cluster: l.Cluster, Host: l.Host, ResourcePool: l.ResourcePool, Folder: l.Folder, Datastore: l.Datastore}
	for _, m := range s.config.NetworkMapping {
		spec.Networks = append(spec.Networks, vsphere.NetworkMapping{Name: m.Name, Network: m.Network})
	}
	return spec
}
