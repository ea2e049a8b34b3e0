package vsphereova

import (
	"context"
	"fmt"
	"log"
	"sort"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// stepImport resolves the placement, imports the source through the OVF
// manager and an NFC lease, and destroys the VM in Cleanup unless the build
// succeeded and keeps it.
type stepImport struct {
	location *LocationConfig
	config   *ImportConfig
	output   *OutputConfig
	vm       *object.VirtualMachine
}

func (s *stepImport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	c := state.Get("client").(*vim25.Client)
	src := state.Get("source").(*ovasource.Source)

	p, err := vsphere.ResolvePlacement(ctx, c, s.placementSpec(), src.Envelope)
	if err != nil {
		return halt(state, err)
	}
	state.Put("placement", p)
	spec, err := s.importSpec(ctx, c, src, p)
	if err != nil {
		return halt(state, err)
	}
	for _, w := range spec.Warning {
		ui.Say("Warning: " + vsphere.FaultMessage(w))
	}

	ui.Say(fmt.Sprintf("Importing %s as VM %q into %s ...", src.OVFName, s.location.VMName, p.Datastore.Name()))
	lease, err := p.Pool.ImportVApp(ctx, spec.ImportSpec, p.Folder, p.Host)
	if err != nil {
		return halt(state, fmt.Errorf("starting the import: %w", err))
	}
	err = vsphere.WithLease(ctx, lease, spec.FileItem, func(info *nfc.LeaseInfo) error {
		// Remember the VM first, so Cleanup destroys it however the upload ends.
		s.vm = object.NewVirtualMachine(c, info.Entity)
		m := &vsphere.Machine{Client: c, VM: s.vm}
		state.Put("vm", s.vm)
		state.Put("machine", common.Machine(m))
		state.Put("exporter", exporter(m))
		return upload(ctx, ui, lease, info.Items, src)
	})
	if err != nil {
		return halt(state, fmt.Errorf("importing %s: %w", src.OVFName, err))
	}
	ui.Say("Import complete")
	return multistep.ActionContinue
}

// importSpec asks the OVF manager to turn the descriptor into an import spec
// with the network mapping, deployment option, properties and provisioning.
func (s *stepImport) importSpec(ctx context.Context, c *vim25.Client, src *ovasource.Source, p *vsphere.Placement) (*types.OvfCreateImportSpecResult, error) {
	var props []types.KeyValue
	for k, v := range s.config.Properties {
		props = append(props, types.KeyValue{Key: k, Value: v})
	}
	sort.Slice(props, func(i, j int) bool { return props[i].Key < props[j].Key })
	cisp := types.OvfCreateImportSpecParams{
		DiskProvisioning: s.config.DiskProvisioning,
		EntityName:       s.location.VMName,
		OvfManagerCommonParams: types.OvfManagerCommonParams{
			DeploymentOption: s.config.DeploymentOption,
			Locale:           "US",
		},
		PropertyMapping: props,
		NetworkMapping:  p.Networks,
	}
	spec, err := govmomiovf.NewManager(c).CreateImportSpec(ctx, string(src.Descriptor), p.Pool, p.Datastore, &cisp)
	if err != nil {
		return nil, fmt.Errorf("creating the import spec for %s: %w", src.OVFName, err)
	}
	if len(spec.Error) > 0 {
		var msgs []string
		for _, e := range spec.Error {
			msgs = append(msgs, vsphere.FaultMessage(e))
		}
		return nil, fmt.Errorf("vSphere rejected %s: %s", src.OVFName, strings.Join(msgs, "; "))
	}
	return spec, nil
}

// upload streams each file the lease asks for from the source.
func upload(ctx context.Context, ui packersdk.Ui, lease *nfc.Lease, items []nfc.FileItem, src *ovasource.Source) error {
	for _, item := range items {
		r, size, err := src.OpenFile(item.Path)
		if err != nil {
			return fmt.Errorf("opening %s in the source: %w", item.Path, err)
		}
		ui.Say(fmt.Sprintf("Uploading %s (%d bytes) ...", item.Path, size))
		log.Printf("upload started: %s", item.Path)
		body := progress.Track(ui, item.Path, size, r)
		err = lease.Upload(ctx, item, body, soap.Upload{ContentLength: size})
		body.Close()
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("uploading %s: %w", item.Path, err)
		}
	}
	return nil
}

// Cleanup destroys the VM, unless the build succeeded and keeps it.
func (s *stepImport) Cleanup(state multistep.StateBag) {
	if s.vm == nil || (!failed(state) && s.output.keepsVM()) {
		return
	}
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Destroying VM %q ...", s.location.VMName))
	if err := vsphere.Destroy(s.vm); err != nil {
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
