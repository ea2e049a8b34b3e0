//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// ConnectConfig is how the builder reaches vCenter or a standalone ESXi host
// (step_connect.go).
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

// Prepare checks the section.
func (c *ConnectConfig) Prepare() []error {
	var errs []error
	if c.VCenterServer == "" {
		errs = append(errs, errors.New("vcenter_server is required: set it to the vCenter or ESXi host name, e.g. vcenter_server = \"vc.example.com\""))
	} else if _, err := serverURL(c.VCenterServer); err != nil {
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

// serverURL turns vcenter_server into the SDK endpoint URL (without credentials).
func serverURL(s string) (*url.URL, error) {
	raw := s
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, errors.New("no host name")
	}
	if u.User != nil {
		return nil, errors.New("put the user name and password in username and password, not in the URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	return u, nil
}
