//go:generate packer-sdc struct-markdown

package vsphereovaqemu

import (
	"fmt"
	"time"
)

// ShutdownConfig is how the guest is shut down after provisioning
// (step_shutdown.go).
type ShutdownConfig struct {
	// Command run over the communicator to shut the guest down. When empty
	// (and always with `communicator = "none"`), the ACPI power button is
	// pressed (QMP `system_powerdown`).
	Command string `mapstructure:"shutdown_command"`
	// How long to wait for the guest to power off. A guest still running
	// then fails the build (it is not silently killed: its disks may not be
	// consistent). Defaults to `5m`.
	Timeout time.Duration `mapstructure:"shutdown_timeout"`
}

// Prepare sets the default timeout.
func (c *ShutdownConfig) Prepare(commType string) []error {
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Timeout < 0 {
		return []error{fmt.Errorf("shutdown_timeout %s must not be negative", c.Timeout)}
	}
	if commType == "none" && c.Command != "" {
		return []error{fmt.Errorf("shutdown_command needs a communicator; with communicator = \"none\" the ACPI power button is used")}
	}
	return nil
}
