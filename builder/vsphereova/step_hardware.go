package vsphereova

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// stepHardware applies CPUs, cpu_cores, RAM, disk growth and
// configuration_parameters to the imported VM before its first boot.
type stepHardware struct{ config *HardwareConfig }

func (s *stepHardware) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*object.VirtualMachine)
	ui := state.Get("ui").(packersdk.Ui)
	spec, err := s.spec(ctx, vm)
	if err != nil {
		return halt(state, err)
	}
	if spec.NumCPUs == 0 && spec.NumCoresPerSocket == nil && spec.MemoryMB == 0 && len(spec.ExtraConfig) == 0 && len(spec.DeviceChange) == 0 {
		return multistep.ActionContinue
	}
	ui.Say("Reconfiguring hardware ...")
	if err := vsphere.WaitTask(ctx, "reconfiguring the VM", func(ctx context.Context) (*object.Task, error) {
		return vm.Reconfigure(ctx, spec)
	}); err != nil {
		return halt(state, err)
	}
	return multistep.ActionContinue
}

// spec is the reconfiguration the config asks for; zero values keep the
// OVF's settings.
func (s *stepHardware) spec(ctx context.Context, vm *object.VirtualMachine) (types.VirtualMachineConfigSpec, error) {
	cfg := s.config
	spec := types.VirtualMachineConfigSpec{NumCPUs: int32(cfg.CPUs), MemoryMB: cfg.RAM}
	if cfg.CpuCores > 0 {
		cores := int32(cfg.CpuCores)
		spec.NumCoresPerSocket = &cores
	}
	keys := make([]string, 0, len(cfg.ConfigParams))
	for k := range cfg.ConfigParams {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec.ExtraConfig = append(spec.ExtraConfig, &types.OptionValue{Key: k, Value: cfg.ConfigParams[k]})
	}
	sizes := cfg.WantedDiskSizes()
	if len(sizes) == 0 {
		return spec, nil
	}
	devices, err := vm.Device(ctx)
	if err != nil {
		return spec, fmt.Errorf("reading the VM's devices: %w", err)
	}
	changes, err := vsphere.GrowDisks(devices.SelectByType((*types.VirtualDisk)(nil)), sizes)
	spec.DeviceChange = changes
	return spec, err
}

func (s *stepHardware) Cleanup(multistep.StateBag) {}
