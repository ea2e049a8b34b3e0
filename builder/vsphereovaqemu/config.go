//go:generate packer-sdc mapstructure-to-hcl2 -type Config,ExportConfig,VAppConfig
//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"
	"time"

	packercommon "github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/renamed"
)

// Config is the builder's configuration. Each section is its own struct in
// config_<section>.go beside the step that reads it. Option names are the
// `vsphere-ova` builder's where the meaning is the same (CPUs, cpu_cores,
// RAM, disk_size, shutdown_*, export {}), so a template switches hypervisor
// by changing the source type and dropping the vCenter options.
type Config struct {
	packercommon.PackerConfig `mapstructure:",squash"`
	commonsteps.HTTPConfig    `mapstructure:",squash"`
	commonsteps.CDConfig      `mapstructure:",squash"`
	common.SourceConfig       `mapstructure:",squash"`
	HardwareConfig            `mapstructure:",squash"`
	QEMUConfig                `mapstructure:",squash"`
	Comm                      communicator.Config `mapstructure:",squash"`
	common.ShutdownConfig     `mapstructure:",squash"`

	// Name of the build's virtual machine, the default export name. Defaults
	// to `packer-<build name>-<unix time>`.
	VMName string `mapstructure:"vm_name"`
	// Where and how the built machine is exported (an OVF, its
	// streamOptimized disks and a manifest, like a vSphere export). Always
	// written: the block only changes the defaults.
	Export *ExportConfig `mapstructure:"export"`
	// vApp properties for the build's boot, as the `vsphere-clone`
	// builder's `vapp` block sets them: `vapp { properties = { ... } }`.
	VApp VAppConfig `mapstructure:"vapp"`

	// Renamed (see internal/renamed): kept only so that Prepare names the
	// replacement.
	RenamedProperties map[string]string `mapstructure:"properties" undocumented:"true"`

	ctx interpolate.Context
}

// Prepare decodes and validates the raw configuration; every section
// reports all of its errors at once.
func (c *Config) Prepare(raws ...interface{}) ([]string, error) {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderId,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter:  &interpolate.RenderFilter{Exclude: []string{"shutdown_command", "qemuargs", "boot_command"}},
	}, raws...)
	if err != nil {
		return nil, err
	}
	// Set early so that no later log line or error can show them.
	if c.Comm.SSHPassword != "" {
		packersdk.LogSecretFilter.Set(c.Comm.SSHPassword)
	}
	if c.Comm.WinRMPassword != "" {
		packersdk.LogSecretFilter.Set(c.Comm.WinRMPassword)
	}

	if c.VMName == "" {
		c.VMName = fmt.Sprintf("packer-%s-%d", c.PackerBuildName, time.Now().Unix())
	}
	if c.Export == nil {
		c.Export = &ExportConfig{}
	}
	c.Export.SetDefaults(c.VMName, c.PackerBuildName, c.PackerForce)
	if c.Comm.Type == "" {
		c.Comm.Type = "ssh"
	}
	// The guest reaches the host's 127.0.0.1 as 10.0.2.2 through QEMU's
	// user network, so the HTTP server need not listen on every interface.
	if c.HTTPAddress == "" && c.HTTPInterface == "" {
		c.HTTPAddress = "127.0.0.1"
	}
	var warnings []string
	var errs []error
	for _, es := range [][]error{
		c.HTTPConfig.Prepare(&c.ctx),
		c.CDConfig.Prepare(&c.ctx),
		c.SourceConfig.Prepare(),
		c.HardwareConfig.Prepare(),
		c.QEMUConfig.Prepare(),
		c.VApp.Prepare(),
		renamed.Refuse(renamed.Option{Old: "properties", Set: c.RenamedProperties != nil,
			New: "vapp { properties = { ... } }", From: "vsphere-clone"}),
		c.Comm.Prepare(&c.ctx),
		c.ShutdownConfig.Prepare(),
		c.Export.Prepare(),
	} {
		errs = append(errs, es...)
	}
	if c.Comm.Type == "none" && c.ShutdownConfig.Command != "" {
		errs = append(errs, fmt.Errorf("shutdown_command needs a communicator; with communicator = \"none\" the ACPI power button is used"))
	}
	if c.Comm.Type == "winrm" && c.ShutdownConfig.Command == "" {
		warnings = append(warnings, "communicator winrm without shutdown_command: the guest is shut down with the ACPI power button, which Windows may ignore while nobody is logged in")
	}
	if len(errs) > 0 {
		return warnings, &packersdk.MultiError{Errors: errs}
	}
	return warnings, nil
}
