//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"net"
	"time"
)

// WaitIPConfig is how the builder waits for the guest's IP address from
// VMware Tools (step_wait_ip.go).
type WaitIPConfig struct {
	// How long to wait for VMware Tools to report an IP address. Defaults to
	// `30m`.
	WaitTimeout time.Duration `mapstructure:"ip_wait_timeout"`
	// How long the reported IP address must stay the same before it is used.
	// Defaults to `5s`.
	SettleTimeout time.Duration `mapstructure:"ip_settle_timeout"`
	// Only use an IP address inside this CIDR (`10.0.0.0/8`). Defaults to the
	// first IPv4 address, or any address when the VM has no IPv4 one.
	WaitAddress *string `mapstructure:"ip_wait_address"`

	// waitNet is the parsed ip_wait_address.
	waitNet *net.IPNet
}

// Prepare sets the defaults and parses ip_wait_address.
func (c *WaitIPConfig) Prepare() []error {
	var errs []error
	if c.WaitTimeout == 0 {
		c.WaitTimeout = 30 * time.Minute
	}
	if c.SettleTimeout == 0 {
		c.SettleTimeout = 5 * time.Second
	}
	if c.WaitTimeout < 0 || c.SettleTimeout < 0 {
		errs = append(errs, fmt.Errorf("ip_wait_timeout (%s) and ip_settle_timeout (%s) must not be negative", c.WaitTimeout, c.SettleTimeout))
	}
	c.waitNet = nil
	if c.WaitAddress != nil && *c.WaitAddress != "" {
		_, n, err := net.ParseCIDR(*c.WaitAddress)
		if err != nil {
			errs = append(errs, fmt.Errorf("ip_wait_address %q: expected a CIDR such as 10.0.0.0/8: %v", *c.WaitAddress, err))
		}
		c.waitNet = n
	}
	return errs
}
