// Package vsphereova is the `vsphere-ova` builder: it imports an OVA/OVF into
// vCenter or a standalone ESXi host, boots and provisions the VM, and exports
// it as an OVF with its disks (which the `vsphere-ova` post-processor packs).
package vsphereova

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// BuilderId identifies this builder's artifacts.
const BuilderId = "ovakit.vsphere-ova"

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
	return []string{"Host", "vm_name"}, warnings, nil
}

func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	state := new(multistep.BasicStateBag)
	state.Put("config", &b.config)
	state.Put("hook", hook)
	state.Put("ui", ui)

	steps := []multistep.Step{
		&stepOpenSource{config: &b.config},
		&stepConnect{config: &b.config},
		&stepImport{config: &b.config},
		&stepHardware{config: &b.config},
		&stepPowerOn{},
		&stepWaitIP{config: &b.config},
		&communicator.StepConnect{
			Config:    &b.config.Comm,
			Host:      commHost(b.config.Comm.Host()),
			SSHConfig: b.config.Comm.SSHConfigFunc(),
		},
		&commonsteps.StepProvision{},
		&stepShutdown{config: &b.config},
	}
	if b.config.Export != nil {
		steps = append(steps, &stepExport{config: &b.config})
	}
	if b.config.ConvertToTemplate {
		steps = append(steps, &stepTemplate{})
	}

	runner := commonsteps.NewRunner(steps, b.config.PackerConfig, ui)
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

	a := &Artifact{
		name:      b.config.VMName,
		kept:      b.config.KeepVM || b.config.ConvertToTemplate,
		StateData: map[string]interface{}{"generated_data": state.Get("generated_data")},
	}
	if files, ok := state.GetOk("export_files"); ok {
		a.files = files.([]string)
		a.dir = b.config.Export.OutputDir
	}
	return a, nil
}

// commHost prefers ssh_host/winrm_host, else the IP VMware Tools reported.
func commHost(host string) func(multistep.StateBag) (string, error) {
	return func(state multistep.StateBag) (string, error) {
		if host != "" {
			return host, nil
		}
		ip, ok := state.GetOk("ip")
		if !ok {
			return "", fmt.Errorf("no IP address for the VM")
		}
		return ip.(string), nil
	}
}

func halt(state multistep.StateBag, err error) multistep.StepAction {
	state.Put("error", err)
	state.Get("ui").(packersdk.Ui).Error(err.Error())
	return multistep.ActionHalt
}
