//go:generate packer-sdc struct-markdown

package vsphereova

import (
	"fmt"
	"time"
)

// ShutdownConfig is how the guest is shut down after provisioning
// (step_shutdown.go).
type ShutdownConfig struct {
	// Command run over the communicator to shut the guest down. When empty
	// (and always with `communicator = "none"`), the guest is shut down through
	// VMware Tools.
	Command string `mapstructure:"shutdown_command"`
	// How long to wait for the VM to power off after the shutdown request.
	// Defaults to `5m`.
	Timeout time.Duration `mapstructure:"shutdown_timeout"`
	// Do not shut the VM down; wait (up to `shutdown_timeout`) for the guest to
	// power itself off, for example at the end of a provisioner.
	DisableShutdown bool `mapstructure:"disable_shutdown"`
}

// Prepare sets the default timeout.
func (c *ShutdownConfig) Prepare() []error {
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Timeout < 0 {
		return []error{fmt.Errorf("shutdown_timeout %s must not be negative", c.Timeout)}
	}
	return nil
}
