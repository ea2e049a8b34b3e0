//go:generate packer-sdc struct-markdown

package common

import (
	"errors"
	"fmt"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// ConnectConfig is how the vsphere-ova builder and the library
// post-processor reach vCenter (or, for the builder, a standalone ESXi host),
// with the vSphere plugin's option names.
type ConnectConfig struct {
	// The vCenter Server or standalone ESXi host to connect to: a host name or
	// IP address, optionally with a port (`vc.example.com`, `10.0.0.5:8443`),
	// or a full `https://host/sdk` URL.
	VCenterServer string `mapstructure:"vcenter_server" required:"true"`
	// The user name for the vSphere API.
	Username string `mapstructure:"username" required:"true"`
	// The password for the vSphere API. It is never written to logs.
	Password string `mapstructure:"password" required:"true"`
	// Skip the verification of the server's TLS certificate. Defaults to `false`.
	InsecureConnection bool `mapstructure:"insecure_connection"`
}

// Options is the section as the driver takes it.
func (c *ConnectConfig) Options() vsphere.ConnectOptions {
	return vsphere.ConnectOptions{Server: c.VCenterServer, Username: c.Username, Password: c.Password, Insecure: c.InsecureConnection}
}

// Prepare checks the section.
func (c *ConnectConfig) Prepare() []error {
	var errs []error
	if c.VCenterServer == "" {
		errs = append(errs, errors.New("vcenter_server is required: set it to the vCenter or ESXi host name, e.g. vcenter_server = \"vc.example.com\""))
	} else if _, err := vsphere.ServerURL(c.VCenterServer); err != nil {
		errs = append(errs, fmt.Errorf("vcenter_server %q: %v", c.VCenterServer, err))
	}
	if c.Username == "" {
		errs = append(errs, errors.New("username is required"))
	}
	if c.Password == "" {
		errs = append(errs, errors.New("password is required"))
	}
	return errs
}
