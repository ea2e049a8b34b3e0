//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/renamed"
)

// ImportConfig is how vSphere's OVF manager reads the source
// (step_import.go).
type ImportConfig struct {
	// Maps each OVF network name to a vSphere network (`network_mapping {
	// name = "VM Network", network = "dvpg-build" }`). A name the OVF does not
	// declare, or a network that does not exist, is an error before anything
	// is created.
	NetworkMapping []NetworkMapping `mapstructure:"network_mapping"`
	// The OVF deployment option (configuration) to import, for OVFs that offer
	// several.
	DeploymentOption string `mapstructure:"deployment_option"`
	// vApp properties set at import, in `vsphere-clone`'s shape: `vapp {
	// properties = { ... } }`.
	VApp VAppConfig `mapstructure:"vapp"`
	// Disk provisioning at import: `thin`, `thick`, `eagerZeroedThick`,
	// `flat`, `monolithicSparse`, `monolithicFlat`, `twoGbMaxExtentSparse`,
	// `twoGbMaxExtentFlat`, `seSparse` or `sparse`. Defaults to the server's
	// choice.
	DiskProvisioning string `mapstructure:"disk_provisioning"`

	// Renamed (see internal/renamed): kept only so that Prepare names the
	// replacement.
	RenamedProperties map[string]string `mapstructure:"properties" undocumented:"true"`
}

// VAppConfig is the `vapp {}` block, `vsphere-clone`'s shape.
type VAppConfig struct {
	// Values for the OVF's ProductSection properties (`ovf:key` = value),
	// set when the OVF is imported, as the vSphere deploy wizard sets them.
	Properties map[string]string `mapstructure:"properties"`
}

// NetworkMapping maps one network of the OVF to a vSphere network.
type NetworkMapping struct {
	// The network name as the OVF declares it (`<Network ovf:name=...>`).
	Name string `mapstructure:"name" required:"true"`
	// The vSphere network (port group, distributed port group or opaque
	// network) name or inventory path.
	Network string `mapstructure:"network" required:"true"`
}

var provisioningTypes = []string{"thin", "thick", "eagerZeroedThick", "flat", "monolithicSparse",
	"monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat", "seSparse", "sparse"}

// Prepare checks the section. Whether the names exist is checked against the
// OVF and the inventory when the build runs.
func (c *ImportConfig) Prepare() []error {
	errs := renamed.Refuse(renamed.Option{Old: "properties", Set: c.RenamedProperties != nil,
		New: "vapp { properties = { ... } }", From: "vsphere-clone"})
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	seen := map[string]bool{}
	for i, m := range c.NetworkMapping {
		if m.Name == "" || m.Network == "" {
			add("network_mapping[%d]: both name (the OVF network) and network (the vSphere network) are required", i)
		}
		if seen[m.Name] {
			add("network_mapping[%d]: OVF network %q is mapped twice", i, m.Name)
		}
		seen[m.Name] = true
	}
	if c.DiskProvisioning != "" && !contains(provisioningTypes, c.DiskProvisioning) {
		add("disk_provisioning %q: expected one of %s", c.DiskProvisioning, strings.Join(provisioningTypes, ", "))
	}
	return errs
}
