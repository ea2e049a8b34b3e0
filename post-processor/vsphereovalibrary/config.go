//go:generate packer-sdc mapstructure-to-hcl2 -type Config
//go:generate packer-sdc struct-markdown

package vsphereovalibrary

import (
	"errors"
	"fmt"

	packercommon "github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
)

// Config is the post-processor's configuration: the connection (as the
// vsphere-ova builder names it) and where the template goes.
type Config struct {
	packercommon.PackerConfig `mapstructure:",squash"`
	common.ConnectConfig      `mapstructure:",squash"`
	// The Content Library to publish to: its name or its ID.
	Library string `mapstructure:"library" required:"true"`
	// Name of the library item. Defaults to the OVA's (or OVF's) file name
	// without its extension.
	Name string `mapstructure:"name"`
	// Description of the library item, set when the item is created.
	Description string `mapstructure:"description"`
	// Create a local library named `library` on `datastore` when no library
	// has that name. Defaults to `false`: a missing library is an error that
	// names it and lists the libraries there are.
	CreateLibrary bool `mapstructure:"create_library"`
	// Datastore (name or inventory path) that holds a library made by
	// `create_library`.
	Datastore string `mapstructure:"datastore"`
	// When the item exists, publish the package as its new version (the
	// item keeps its ID, so deployments and subscriptions follow). Defaults
	// to `true`; with `false` an existing item is an error.
	Replace config.Trilean `mapstructure:"replace"`

	ctx interpolate.Context
}

// Prepare decodes and checks the configuration.
func (c *Config) Prepare(raws ...interface{}) error {
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         BuilderId,
		Interpolate:        true,
		InterpolateContext: &c.ctx,
	}, raws...)
	if err != nil {
		return err
	}
	// Set early so that no later log line or error can show it.
	if c.Password != "" {
		packersdk.LogSecretFilter.Set(c.Password)
	}
	if c.Replace == config.TriUnset {
		c.Replace = config.TriTrue
	}
	errs := c.ConnectConfig.Prepare()
	if c.Library == "" {
		errs = append(errs, errors.New("library is required: the name or ID of the Content Library to publish to"))
	}
	if c.CreateLibrary && c.Datastore == "" {
		errs = append(errs, fmt.Errorf("create_library = true needs datastore: the datastore that holds the new library %q", c.Library))
	}
	if len(errs) > 0 {
		return &packersdk.MultiError{Errors: errs}
	}
	return nil
}
