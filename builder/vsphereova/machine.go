package vsphereova

import (
	"context"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// The steps after provisioning see the build VM only through interfaces, so
// that they do not depend on vSphere: common.Machine for the shutdown
// (common.StepShutdown), exporter below for the export (step_export.go).
// vsphere.Machine (driver/vsphere) implements both with govmomi.

// exporter produces the export of a powered-off VM.
type exporter interface {
	// Export writes every disk (and extra file, such as NVRAM) of the VM with
	// put, under names starting with o.Name, and returns the OVF descriptor
	// that references them. The descriptor and manifest are written by the
	// caller.
	Export(ctx context.Context, o vsphere.ExportOptions, put vsphere.PutFunc) (descriptor string, err error)
}

var (
	_ exporter       = (*vsphere.Machine)(nil)
	_ common.Machine = (*vsphere.Machine)(nil)
)

// exportOptions is the export {} block as the driver takes it.
func (e *ExportConfig) exportOptions() vsphere.ExportOptions {
	return vsphere.ExportOptions{Name: e.Name, Images: e.ImageFiles, NVRAM: e.NVRAM, Options: e.Options}
}
