package vsphereova

import (
	"context"
	"io"
)

// The steps after provisioning (step_shutdown.go, step_export.go) see the
// build VM only through these interfaces, so that they do not depend on
// vSphere: vsphere_machine.go implements them with govmomi, and a local QEMU
// driver can implement them with QMP and qemu-img.

// machine is a running build VM.
type machine interface {
	// ShutdownGuest asks the guest OS to shut down without a communicator
	// (VMware Tools here; ACPI power button for QEMU). It returns once the
	// request is made, not when the VM is off.
	ShutdownGuest(ctx context.Context) error
	// WaitForPowerOff returns when the VM is powered off, or with ctx's error.
	WaitForPowerOff(ctx context.Context) error
}

// putFunc writes one file of the export from r (size bytes, -1 if unknown)
// under name in the output directory, and returns the bytes written.
type putFunc func(ctx context.Context, name string, size int64, r io.Reader) (int64, error)

// exporter produces the export of a powered-off VM.
type exporter interface {
	// Export writes every disk (and extra file, such as NVRAM) of the VM with
	// put, under names starting with e.Name, and returns the OVF descriptor
	// that references them. The descriptor and manifest are written by the
	// caller.
	Export(ctx context.Context, e *ExportConfig, put putFunc) (descriptor string, err error)
}
