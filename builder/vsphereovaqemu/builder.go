// Package vsphereovaqemu is the `vsphere-ova-qemu` builder (registered as
// `qemu` in the `vsphere-ova` plugin): it boots an OVA's appliance under
// QEMU with the hardware it has on vSphere, provisions it, and exports it as
// a vSphere export looks (an OVF, streamOptimized disks and a manifest),
// which the `vsphere-ova` post-processor packs into an OVA. No vSphere is
// needed.
//
// One step per file (step_<verb>.go), each configuration section in
// config_<section>.go. The QEMU driver is driver/qemu (no Packer imports).
// What this builder shares with the `vsphere-ova` builder lives beside it:
// the step runner and the source step in builder/common, the source in
// internal/ovasource, the export folder in internal/exportdir.
package vsphereovaqemu

import (
	"context"
	"errors"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
)

// BuilderId identifies this builder's artifacts.
const BuilderId = "ovakit.vsphere-ova-qemu"

// Builder implements packersdk.Builder.
type Builder struct {
	config Config
}

var _ packersdk.Builder = (*Builder)(nil)

func (b *Builder) ConfigSpec() hcldec.ObjectSpec { return b.config.FlatMapstructure().HCL2Spec() }

func (b *Builder) Prepare(raws ...interface{}) ([]string, []string, error) {
	warnings, err := b.config.Prepare(raws...)
	if err != nil {
		return nil, warnings, err
	}
	return []string{"vm_name", "HTTPIP", "HTTPPort", "Host", "Port"}, warnings, nil
}

// State keys, by the step that puts them:
//
//	source        *ovasource.Source  common.StepOpenSource
//	ovf_machine   *ovfMachine        stepReadMachine
//	work_dir      string             stepDecodeDisks (the build's working folder, workdir.go)
//	work_disks    []workDisk         stepDecodeDisks
//	http_port     int                the SDK's HTTP server step
//	cd_path       string             the SDK's CD step (cd_files/cd_content)
//	ovf_env_path  string             stepOVFEnv
//	machine       *qemu.Machine      stepRun
//	ssh_host_port int                stepRun (the 127.0.0.1 forward)
//	export_files  []string           stepExport
func (b *Builder) steps() []multistep.Step {
	c := &b.config
	return []multistep.Step{
		c.SourceConfig.OpenStep(),
		&stepReadMachine{config: &c.SourceConfig},
		newStepDecodeDisks(c),
		commonsteps.HTTPServerFromHTTPConfig(&c.HTTPConfig),
		&commonsteps.StepCreateCD{Files: c.CDFiles, Content: c.CDContent, Label: c.CDLabel},
		&stepOVFEnv{config: &c.VApp},
		&stepRun{config: c},
		&stepTypeBootCommand{config: &c.QEMUConfig, vmName: c.VMName, ictx: &c.ctx},
		&communicator.StepConnect{
			Config:    &c.Comm,
			Host:      func(multistep.StateBag) (string, error) { return "127.0.0.1", nil },
			SSHConfig: c.Comm.SSHConfigFunc(),
			SSHPort:   hostPort,
			WinRMPort: hostPort,
		},
		&commonsteps.StepProvision{},
		&common.StepShutdown{Config: &c.ShutdownConfig, CommType: c.Comm.Type, GuestShutdown: "the ACPI power button (QMP system_powerdown)"},
		&stepExport{config: c.Export, vmName: c.VMName, hw: &c.HardwareConfig},
	}
}

func hostPort(state multistep.StateBag) (int, error) {
	p, ok := state.GetOk("ssh_host_port")
	if !ok {
		return 0, errors.New("no forwarded port: the machine is not running")
	}
	return p.(int), nil
}

func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	state, err := common.Run(ctx, ui, hook, b.config.PackerConfig, &b.config, b.config.VMName, b.steps())
	if err != nil {
		return nil, err
	}
	files, _ := state.Get("export_files").([]string)
	return &Artifact{
		name:      b.config.Export.Name,
		dir:       b.config.Export.OutputDir,
		files:     files,
		StateData: map[string]interface{}{"generated_data": state.Get("generated_data")},
	}, nil
}

// halt and failed are the shared step helpers, which every step here calls.
var (
	halt   = common.Halt
	failed = common.Failed
)
