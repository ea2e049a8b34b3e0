//go:generate packer-sdc mapstructure-to-hcl2 -type Config,NetworkMapping,ExportConfig,VAppConfig
//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"time"

	packercommon "github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/communicator"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
)

// Config is the builder's configuration. Each section is its own struct in
// config_<section>.go, beside the step that reads it, so an option name leads
// to one file and the generated docs split by section. Option names follow
// the vSphere plugin's `vsphere-clone` builder so a template can switch with
// few edits.
type Config struct {
	packercommon.PackerConfig `mapstructure:",squash"`
	common.ConnectConfig      `mapstructure:",squash"`
	LocationConfig            `mapstructure:",squash"`
	common.SourceConfig       `mapstructure:",squash"`
	ImportConfig              `mapstructure:",squash"`
	HardwareConfig            `mapstructure:",squash"`
	WaitIPConfig              `mapstructure:",squash"`
	Comm                      communicator.Config `mapstructure:",squash"`
	common.ShutdownConfig     `mapstructure:",squash"`
	OutputConfig              `mapstructure:",squash"`

	ctx interpolate.Context
}

// Prepare decodes and validates the raw configuration. Defaults that join
// sections (names derived from the build) are set here; each section then
// checks itself.
func (c *Config) Prepare(raws ...interface{}) ([]string, error) {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderId,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter:  &interpolate.RenderFilter{Exclude: []string{"shutdown_command"}},
	}, raws...)
	if err != nil {
		return nil, err
	}
	// Set early so that no later log line or error can show it.
	if c.Password != "" {
		packersdk.LogSecretFilter.Set(c.Password)
	}

	if c.VMName == "" {
		c.VMName = fmt.Sprintf("packer-%s-%d", c.PackerBuildName, time.Now().Unix())
	}
	if e := c.Export; e != nil {
		e.SetDefaults(c.VMName, c.PackerBuildName, c.PackerForce)
	}
	if c.Comm.Type == "" {
		c.Comm.Type = "ssh"
	}

	var errs []error
	for _, es := range [][]error{
		c.ConnectConfig.Prepare(),
		c.LocationConfig.Prepare(),
		c.SourceConfig.Prepare(),
		c.ImportConfig.Prepare(),
		c.HardwareConfig.Prepare(),
		c.WaitIPConfig.Prepare(),
		c.Comm.Prepare(&c.ctx),
		c.ShutdownConfig.Prepare(),
		c.OutputConfig.Prepare(),
	} {
		errs = append(errs, es...)
	}
	if len(errs) > 0 {
		return nil, &packersdk.MultiError{Errors: errs}
	}
	return nil, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
