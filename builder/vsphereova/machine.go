package vsphereova

import (
	"context"
	"io"
)

// The steps after provisioning see the build VM only through interfaces, so
// that they do not depend on vSphere: common.Machine for the shutdown
// (common.StepShutdown), exporter below for the export (step_export.go).
// vsphere_machine.go implements both with govmomi.

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
