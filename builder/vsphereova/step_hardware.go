package vsphereova

import (
	"context"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// stepHardware applies CPUs, cpu_cores, RAM, disk growth and
// configuration_parameters to the imported VM before its first boot.
type stepHardware struct{ config *HardwareConfig }

func (s *stepHardware) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*vsphere.Machine)
	cfg := s.config
	h := vsphere.Hardware{CPUs: cfg.CPUs, CoresPerSocket: cfg.CpuCores, MemoryMiB: cfg.RAM,
		DiskSizesMiB: cfg.WantedDiskSizes(), ExtraConfig: cfg.ConfigParams}
	changed, err := vm.Reconfigure(ctx, h)
	if err != nil {
		return halt(state, err)
	}
	if changed {
		state.Get("ui").(packersdk.Ui).Say("Reconfigured the hardware")
	}
	return multistep.ActionContinue
}

func (s *stepHardware) Cleanup(multistep.StateBag) {}
