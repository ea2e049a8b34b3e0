package vsphere

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// PowerOn boots the VM.
func (m *Machine) PowerOn(ctx context.Context) error {
	return WaitTask(ctx, "powering on the VM", m.VM.PowerOn)
}

// MarkAsTemplate turns the powered-off VM into a template.
func (m *Machine) MarkAsTemplate(ctx context.Context) error {
	if err := m.VM.MarkAsTemplate(ctx); err != nil {
		return fmt.Errorf("converting to a template: %w", err)
	}
	return nil
}

// Hardware is a reconfiguration; zero values keep the VM's settings.
type Hardware struct {
	CPUs, CoresPerSocket int
	MemoryMiB            int64
	// DiskSizesMiB is the wanted size per disk index (0: keep); disks only grow.
	DiskSizesMiB []int64
	// ExtraConfig are VMX options (configuration_parameters).
	ExtraConfig map[string]string
}

// Reconfigure applies h before the first boot and reports whether anything
// changed (nothing to change makes no API call).
func (m *Machine) Reconfigure(ctx context.Context, h Hardware) (bool, error) {
	spec := types.VirtualMachineConfigSpec{NumCPUs: int32(h.CPUs), MemoryMB: h.MemoryMiB}
	if h.CoresPerSocket > 0 {
		cores := int32(h.CoresPerSocket)
		spec.NumCoresPerSocket = &cores
	}
	keys := make([]string, 0, len(h.ExtraConfig))
	for k := range h.ExtraConfig {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec.ExtraConfig = append(spec.ExtraConfig, &types.OptionValue{Key: k, Value: h.ExtraConfig[k]})
	}
	if len(h.DiskSizesMiB) > 0 {
		devices, err := m.VM.Device(ctx)
		if err != nil {
			return false, fmt.Errorf("reading the VM's devices: %w", err)
		}
		if spec.DeviceChange, err = GrowDisks(devices.SelectByType((*types.VirtualDisk)(nil)), h.DiskSizesMiB); err != nil {
			return false, err
		}
	}
	if spec.NumCPUs == 0 && spec.NumCoresPerSocket == nil && spec.MemoryMB == 0 && len(spec.ExtraConfig) == 0 && len(spec.DeviceChange) == 0 {
		return false, nil
	}
	return true, WaitTask(ctx, "reconfiguring the VM", func(ctx context.Context) (*object.Task, error) {
		return m.VM.Reconfigure(ctx, spec)
	})
}

// Labels describe the VM as it is now (for the HCP Packer registry):
// vm_name, vsphere_uuid, num_cpu, num_cores_per_socket, memory_mb, host.
func (m *Machine) Labels(ctx context.Context) (map[string]string, error) {
	labels := map[string]string{}
	var o mo.VirtualMachine
	if err := m.VM.Properties(ctx, m.VM.Reference(), []string{"name", "config.uuid", "config.hardware", "runtime.host"}, &o); err != nil {
		return labels, err
	}
	labels["vm_name"] = o.Name
	if o.Config != nil {
		hw := o.Config.Hardware
		labels["vsphere_uuid"] = o.Config.Uuid
		labels["num_cpu"] = strconv.Itoa(int(hw.NumCPU))
		if hw.NumCoresPerSocket != nil {
			labels["num_cores_per_socket"] = strconv.Itoa(int(*hw.NumCoresPerSocket))
		}
		labels["memory_mb"] = strconv.Itoa(int(hw.MemoryMB))
	}
	if o.Runtime.Host != nil {
		name, err := object.NewHostSystem(m.VM.Client(), *o.Runtime.Host).ObjectName(ctx)
		if err != nil {
			return labels, fmt.Errorf("reading the VM's host: %w", err)
		}
		labels["host"] = name
	}
	return labels, nil
}

// Labels describe where a placement put the VM: datacenter, datastore,
// resource_pool, folder and cluster; Region is the datacenter.
func (p *Placement) Labels() map[string]string {
	l := map[string]string{
		"datacenter":    p.Datacenter.Name(),
		"datastore":     p.Datastore.Name(),
		"resource_pool": p.Pool.InventoryPath,
		"folder":        p.Folder.InventoryPath,
	}
	if p.Cluster != nil {
		l["cluster"] = p.Cluster.Name()
	}
	return l
}
