// Package vsphereova is the `vsphere-ova` builder: it imports an OVA/OVF into
// vCenter or a standalone ESXi host, boots and provisions the VM, and exports
// it as an OVF with its disks (which the `vsphere-ova` post-processor packs).
//
// One step per file (step_<verb>.go), each section of the configuration in
// config_<section>.go beside the step that reads it. The steps after
// provisioning (step_shutdown.go, step_export.go) see the VM only through the
// small interfaces in machine.go; vSphere's side of those interfaces is
// vsphere_machine.go. What this builder shares with the `vsphere-ova-qemu`
// builder lives beside it: the step runner and the source step in
// builder/common, the source in internal/ovasource, the export folder in
// internal/exportdir.
package vsphereova

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
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

// State keys, by the step that puts them:
//
//	source           *ovasource.Source common.StepOpenSource
//	client           *vim25.Client    stepConnect
//	placement        *vsphere.Placement       stepImport
//	vm               *object.VirtualMachine, and as machine and exporter
//	                                  (the interfaces of machine.go): stepImport
//	ip               string           stepWaitIP
//	generated_data   map: vm_name (Run), Host (stepWaitIP)
//	registry_image   *registryInfo    stepCollectMetadata
//	export_files     []string         stepExport
func (b *Builder) steps() []multistep.Step {
	c := &b.config
	steps := []multistep.Step{
		c.SourceConfig.OpenStep(),
		&stepConnect{config: &c.ConnectConfig},
		&stepImport{location: &c.LocationConfig, config: &c.ImportConfig, output: &c.OutputConfig},
		&stepHardware{config: &c.HardwareConfig},
		&stepPowerOn{},
		&stepWaitIP{config: &c.WaitIPConfig},
		&communicator.StepConnect{
			Config:    &c.Comm,
			Host:      commHost(c.Comm.Host()),
			SSHConfig: c.Comm.SSHConfigFunc(),
		},
		&commonsteps.StepProvision{},
		&common.StepShutdown{Config: &c.ShutdownConfig, CommType: c.Comm.Type, GuestShutdown: "VMware Tools"},
		&stepCollectMetadata{server: c.VCenterServer, source: c.SourcePath},
	}
	if c.Export != nil {
		steps = append(steps, &stepExport{config: c.Export})
	}
	if c.ConvertToTemplate {
		steps = append(steps, &stepTemplate{})
	}
	return steps
}

func (b *Builder) Run(ctx context.Context, ui packersdk.Ui, hook packersdk.Hook) (packersdk.Artifact, error) {
	state, err := common.Run(ctx, ui, hook, b.config.PackerConfig, &b.config, b.config.VMName, b.steps())
	if err != nil {
		return nil, err
	}

	a := &Artifact{
		name:      b.config.VMName,
		kept:      b.config.keepsVM(),
		StateData: map[string]interface{}{"generated_data": state.Get("generated_data")},
	}
	if info, ok := state.GetOk("registry_image"); ok {
		a.registry = info.(*registryInfo)
	}
	if files, ok := state.GetOk("export_files"); ok {
		a.files = files.([]string)
		a.dir = b.config.Export.OutputDir
	}
	return a, nil
}

// commHost prefers ssh_host/winrm_host, else the IP the guest reported.
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

// halt and failed are the shared step helpers, which every step here calls.
var (
	halt   = common.Halt
	failed = common.Failed
)
