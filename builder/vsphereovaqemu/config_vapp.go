//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"
	"strings"
)

// VAppConfig is the `vapp {}` block, `vsphere-clone`'s shape: the OVF's
// vApp properties for the build's boot (step_ovf_env.go), delivered as
// vSphere's `iso` transport delivers them: an `ovf-env.xml` at the root of
// a CD-ROM labelled `OVF ENV`, so guest code that reads its OVF
// environment on vSphere works unchanged.
type VAppConfig struct {
	// Values for the OVF's ProductSection properties, by key (`class.key`
	// when the property has a class). A key the OVF does not declare is an
	// error. Properties not set here get the OVF's default. Values of
	// properties the OVF marks `ovf:password="true"` are never logged.
	Properties map[string]string `mapstructure:"properties"`
}

// Prepare checks the keys' shape; whether the OVF declares them is checked
// once the source is open.
func (c *VAppConfig) Prepare() []error {
	var errs []error
	for k := range c.Properties {
		if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " \t\n\"<>&") {
			errs = append(errs, fmt.Errorf("vapp.properties: key %q is not a valid OVF property key", k))
		}
	}
	return errs
}
