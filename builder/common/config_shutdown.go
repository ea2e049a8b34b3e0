//go:generate packer-sdc struct-markdown

package common

import (
	"fmt"
	"time"
)

// ShutdownConfig is how the guest is shut down after provisioning
// (StepShutdown).
type ShutdownConfig struct {
	// Command run over the communicator to shut the guest down, such as
	// `sudo shutdown -P now`. When empty, the guest is asked to shut down
	// without a communicator: through VMware Tools on vSphere, with the ACPI
	// power button (QMP `system_powerdown`) under QEMU.
	Command string `mapstructure:"shutdown_command"`
	// How long to wait for the guest to power off after the shutdown request.
	// A guest still running then fails the build (it is not silently killed:
	// its disks may not be consistent). Defaults to `5m`.
	Timeout time.Duration `mapstructure:"shutdown_timeout"`
	// Do not shut the guest down; wait (up to `shutdown_timeout`) for it to
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
