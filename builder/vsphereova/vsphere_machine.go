package vsphereova

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
)

// vsphereMachine is the build VM in vSphere, as machine and exporter.
type vsphereMachine struct {
	c  *vim25.Client
	vm *object.VirtualMachine
}

var (
	_ common.Machine = (*vsphereMachine)(nil)
	_ exporter       = (*vsphereMachine)(nil)
)

func (m *vsphereMachine) ShutdownGuest(ctx context.Context) error {
	if err := m.vm.ShutdownGuest(ctx); err != nil {
		return fmt.Errorf("guest shutdown through VMware Tools: %w (set shutdown_command instead if the guest has no Tools)", err)
	}
	return nil
}

func (m *vsphereMachine) WaitForPowerOff(ctx context.Context) error {
	return m.vm.WaitForPowerState(ctx, types.VirtualMachinePowerStatePoweredOff)
}

// Export downloads the VM's files through an ExportVm NFC lease, then has
// the OVF manager write the descriptor for the files as written.
func (m *vsphereMachine) Export(ctx context.Context, e *ExportConfig, put putFunc) (string, error) {
	lease, err := m.vm.Export(ctx)
	if err != nil {
		return "", fmt.Errorf("starting the export: %w", err)
	}
	var files []types.OvfFile
	dl := newNFCDownloader(m.c.Client)
	defer dl.Close()
	err = withLease(ctx, lease, nil, func(info *nfc.LeaseInfo) error {
		for _, item := range info.Items {
			if skipExportItem(e, item.Path) {
				continue
			}
			item.Path = exportName(e.Name, item.Path)
			size, err := m.download(ctx, dl, item, put)
			if err != nil {
				return err
			}
			f := item.File()
			f.Size = size
			files = append(files, f)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("exporting: %w", err)
	}
	desc, err := govmomiovf.NewManager(m.c).CreateDescriptor(ctx, m.vm, types.OvfCreateDescriptorParams{
		Name:              e.Name,
		OvfFiles:          files,
		ExportOption:      e.Options,
		IncludeImageFiles: types.NewBool(e.Images),
	})
	if err != nil {
		return "", fmt.Errorf("creating the OVF descriptor: %w", err)
	}
	if len(desc.Error) > 0 {
		return "", fmt.Errorf("creating the OVF descriptor: %s", faultMessage(desc.Error[0]))
	}
	return desc.OvfDescriptor, nil
}

func (m *vsphereMachine) download(ctx context.Context, dl *nfcDownloader, item nfc.FileItem, put putFunc) (int64, error) {
	r, size, err := dl.Download(ctx, item.URL)
	if err != nil {
		return 0, fmt.Errorf("downloading %s: %w", item.Path, err)
	}
	defer r.Close()
	if size <= 0 {
		size = item.Size
	}
	return put(ctx, item.Path, size, r)
}

// exportName prefixes the export name to a lease file name, as
// vsphere-clone's export does: vSphere's lease says "disk-0.vmdk", the
// export holds "<name>-disk-0.vmdk".
func exportName(name, leasePath string) string {
	if strings.HasPrefix(leasePath, name+"-") {
		return leasePath
	}
	return name + "-" + leasePath
}

// skipExportItem leaves out attached ISO/floppy images and the NVRAM file
// unless export.images / export.nvram ask for them.
func skipExportItem(e *ExportConfig, p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".iso", ".flp", ".img":
		return !e.Images
	case ".nvram":
		return !e.NVRAM
	}
	return false
}
