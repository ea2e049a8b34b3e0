package vsphereova

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"

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
		info.Labels["datacenter"] = p.Datacenter.Name()
		info.Labels["datastore"] = p.Datastore.Name()
		info.Labels["resource_pool"] = p.Pool.InventoryPath
		info.Labels["folder"] = p.Folder.InventoryPath
		if p.Cluster != nil {
			info.Labels["cluster"] = p.Cluster.Name()
		}
	}
	vm, ok := state.Get("vm").(*object.VirtualMachine)
	if !ok {
		return info, nil
	}
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"name", "config.uuid", "config.hardware", "runtime.host"}, &o); err != nil {
		return info, err
	}
	info.Labels["vm_name"] = o.Name
	if o.Config != nil {
		hw := o.Config.Hardware
		info.Labels["vsphere_uuid"] = o.Config.Uuid
		info.Labels["num_cpu"] = strconv.Itoa(int(hw.NumCPU))
		if hw.NumCoresPerSocket != nil {
			info.Labels["num_cores_per_socket"] = strconv.Itoa(int(*hw.NumCoresPerSocket))
		}
		info.Labels["memory_mb"] = strconv.Itoa(int(hw.MemoryMB))
	}
	if o.Runtime.Host != nil {
		name, err := object.NewHostSystem(vm.Client(), *o.Runtime.Host).ObjectName(ctx)
		if err != nil {
			return info, fmt.Errorf("reading the VM's host: %w", err)
		}
		info.Labels["host"] = name
	}
	return info, nil
}

func (s *stepCollectMetadata) Cleanup(multistep.StateBag) {}
