// Package vsphereovaqemu is the `vsphere-ova-qemu` builder (registered as
// `qemu` in the `vsphere-ova` plugin): it boots an OVA's appliance under
// QEMU with the hardware it has on vSphere, provisions it, and exports it as
// a vSphere export looks (an OVF, streamOptimized disks and a manifest),
// which the `vsphere-ova` post-processor packs into an OVA. No vSphere is
// needed.
//
// One step per file (step_<verb>.go), each configuration section in
// config_<section>.go. The QEMU driver is builder/qemu (no Packer imports);
// the source is opened by internal/ovasource, shared with the `vsphere-ova`
// builder.
package vsphereovaqemu

import (
	"context"
	"errors"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
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
//	source        *ovasource.Source  stepOpenSource
//	ovf_machine   *ovfMachine        stepOpenSource
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
		&stepOpenSource{config: &c.SourceConfig},
		&stepDecodeDisks{hw: &c.HardwareConfig},
		commonsteps.HTTPServerFromHTTPConfig(&c.HTTPConfig),
		&commonsteps.StepCreateCD{Files: c.CDFiles, Content: c.CDContent, Label: c.CDLabel},
		&stepOVFEnv{config: &c.VAppConfig},
		&stepRun{config: c},
		&communicator.StepConnect{
			Config:    &c.Comm,
			Host:      func(multistep.StateBag) (string, error) { return "127.0.0.1", nil },
			SSHConfig: c.Comm.SSHConfigFunc(),
			SSHPort:   hostPort,
			WinRMPort: hostPort,
		},
		&commonsteps.StepProvision{},
		&stepShutdown{config: &c.ShutdownConfig, commType: c.Comm.Type},
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
	state := new(multistep.BasicStateBag)
	state.Put("config", &b.config)
	state.Put("hook", hook)
	state.Put("ui", ui)
	state.Put("generated_data", map[string]interface{}{"vm_name": b.config.VMName})

	runner := commonsteps.NewRunner(b.steps(), b.config.PackerConfig, ui)
	runner.Run(ctx, state)

	if rawErr, ok := state.GetOk("error"); ok {
		return nil, rawErr.(error)
	}
	if _, ok := state.GetOk(multistep.StateCancelled); ok {
		return nil, errors.New("build was cancelled")
	}
	if _, ok := state.GetOk(multistep.StateHalted); ok {
		return nil, errors.New("build was halted")
	}
	files, _ := state.Get("export_files").([]string)
	return &Artifact{
		name:      b.config.Export.Name,
		dir:       b.config.Export.OutputDir,
		files:     files,
		StateData: map[string]interface{}{"generated_data": state.Get("generated_data")},
	}, nil
}

// halt records err for the runner and the user, and stops the build.
func halt(state multistep.StateBag, err error) multistep.StepAction {
	state.Put("error", err)
	state.Get("ui").(packersdk.Ui).Error(err.Error())
	return multistep.ActionHalt
}

// failed reports whether the build stopped early, so a step's Cleanup undoes
// its work (a cancelled or halted build keeps nothing).
func failed(state multistep.StateBag) bool {
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	return cancelled || halted
}
