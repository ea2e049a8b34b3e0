//go:generate packer-sdc mapstructure-to-hcl2 -type DeploymentOption
//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"regexp"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovftarget"
)

// DeploymentOption is one deploy-time configuration of the OVA (a
// `deployment_option` block; repeat it for each size): vCenter's deploy
// wizard shows them on its "Configuration" page and `ovftool
// --deploymentOption=<id>` picks one, as for the vCenter Server
// Appliance's "tiny/small/medium". The OVA gets an OVF
// `DeploymentOptionSection` and, for each option with `CPUs` or `RAM`, a
// copy of the VM's CPU or memory item with that quantity, marked
// `ovf:configuration="<id>"`; options without them deploy the VM as built.
//
// Only vSphere reads configurations. For the `workstation`, `virtualbox`
// and `portable` targets the OVA describes the default option alone: its
// `CPUs` and `RAM` become the VM's, and a warning names the options left
// out.
type DeploymentOption struct {
	// The option's identifier (`ovf:id`), what `ovftool --deploymentOption`
	// takes: letters, digits, `_`, `-` and `.`, starting with a letter or
	// `_`. Unique among the blocks.
	ID string `mapstructure:"id" required:"true"`
	// The name the deploy wizard shows. Defaults to `id`.
	Label string `mapstructure:"label"`
	// A sentence the deploy wizard shows under the label. Defaults to the
	// label.
	Description string `mapstructure:"description"`
	// The option selected when the user chooses none. At most one block
	// may set it; without any, the first block is the default.
	Default bool `mapstructure:"default"`
	// Number of virtual CPUs with this option. 0 (default): the VM's own.
	CPUs int `mapstructure:"CPUs"`
	// Memory in MiB with this option. 0 (default): the VM's own.
	RAM int64 `mapstructure:"RAM"`
}

// xmlToken is what an ovf:id may be here: an XML NCName in ASCII, which
// ovftool's command line and vCenter's API take as it is.
var xmlToken = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// prepareDeploymentOptions checks the blocks, naming each bad one.
func prepareDeploymentOptions(opts []DeploymentOption) []error {
	var errs []error
	seen := map[string]int{}
	defaults := 0
	for i, o := range opts {
		where := fmt.Sprintf("deployment_option[%d]", i)
		if o.ID != "" {
			where += fmt.Sprintf(" (id %q)", o.ID)
		}
		switch {
		case o.ID == "":
			errs = append(errs, fmt.Errorf("%s: id is required, e.g. id = \"small\"", where))
		case !xmlToken.MatchString(o.ID):
			errs = append(errs, fmt.Errorf("%s: id must start with a letter or _ and hold only letters, digits, _, - and . (it is an XML token ovftool and vCenter pass around)", where))
		}
		if j, dup := seen[o.ID]; dup && o.ID != "" {
			errs = append(errs, fmt.Errorf("%s: the same id as deployment_option[%d]; each option needs its own id", where, j))
		} else {
			seen[o.ID] = i
		}
		if o.Default {
			defaults++
		}
		if o.CPUs < 0 {
			errs = append(errs, fmt.Errorf("%s: CPUs = %d; give a positive number of virtual CPUs, or leave it out to keep the VM's", where, o.CPUs))
		}
		if o.RAM < 0 {
			errs = append(errs, fmt.Errorf("%s: RAM = %d; give a positive size in MiB, or leave it out to keep the VM's", where, o.RAM))
		}
	}
	if defaults > 1 {
		errs = append(errs, fmt.Errorf("deployment_option: %d blocks set default = true; at most one may", defaults))
	}
	return errs
}

// deploymentOptions converts the blocks for ovftarget.
func (c *Config) deploymentOptions() []ovftarget.DeploymentOption {
	var out []ovftarget.DeploymentOption
	for _, o := range c.DeploymentOptions {
		out = append(out, ovftarget.DeploymentOption{ID: o.ID, Label: o.Label, Description: o.Description,
			Default: o.Default, CPUs: o.CPUs, MemoryMiB: o.RAM})
	}
	return out
}

// addDeploymentOptions applies the blocks to one target's customized
// descriptor, saying what the target loses.
func (p *PostProcessor) addDeploymentOptions(ui packersdk.Ui, desc []byte, t ovftarget.Target) ([]byte, error) {
	r, err := ovftarget.AddDeploymentOptions(desc, t, p.config.deploymentOptions())
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", t, err)
	}
	for _, w := range r.Warnings {
		ui.Error("Warning: " + w)
	}
	return r.Descriptor, nil
}
