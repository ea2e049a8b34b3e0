package vsphere

import (
	"context"
	"fmt"
	"io"
	"log"
	"path/filepath"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Machine is a VM in vSphere as the builder's steps after provisioning see
// it: shut down (builder/common.Machine) and exported.
type Machine struct {
	Client *vim25.Client
	VM     *object.VirtualMachine
}

// PutFunc writes one file of an export from r (size bytes, -1 if unknown)
// under name, and returns the bytes written.
type PutFunc func(ctx context.Context, name string, size int64, r io.Reader) (int64, error)

// ExportOptions are the export {} options a vSphere export reads.
type ExportOptions struct {
	Name    string   // files are named <Name>-<lease name>, the OVF <Name>
	Images  bool     // also attached ISO/floppy images
	NVRAM   bool     // also the NVRAM file (UEFI variables)
	Options []string // OvfCreateDescriptorParams.ExportOption
}

func (m *Machine) ShutdownGuest(ctx context.Context) error {
	if err := m.VM.ShutdownGuest(ctx); err != nil {
		return fmt.Errorf("guest shutdown through VMware Tools: %w (set shutdown_command instead if the guest has no Tools)", err)
	}
	return nil
}

func (m *Machine) WaitForPowerOff(ctx context.Context) error {
	return m.VM.WaitForPowerState(ctx, types.VirtualMachinePowerStatePoweredOff)
}

// Export downloads the VM's files through an ExportVm NFC lease, then has
// the OVF manager write the descriptor for the files as written.
func (m *Machine) Export(ctx context.Context, e ExportOptions, put PutFunc) (string, error) {
	lease, err := m.VM.Export(ctx)
	if err != nil {
		return "", fmt.Errorf("starting the export: %w", err)
	}
	var files []types.OvfFile
	dl := NewNFCDownloader(m.Client.Client)
	defer dl.Close()
	err = WithLease(ctx, lease, nil, func(info *nfc.LeaseInfo) error {
		for _, item := range info.Items {
			if skipExportItem(e, item.Path) {
				continue
			}
			item.Path = ExportName(e.Name, item.Path)
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
	desc, err := govmomiovf.NewManager(m.Client).CreateDescriptor(ctx, m.VM, types.OvfCreateDescriptorParams{
		Name:              e.Name,
		OvfFiles:          files,
		ExportOption:      e.Options,
		IncludeImageFiles: types.NewBool(e.Images),
	})
	if err != nil {
		return "", fmt.Errorf("creating the OVF descriptor: %w", err)
	}
	if len(desc.Error) > 0 {
		return "", fmt.Errorf("creating the OVF descriptor: %s", FaultMessage(desc.Error[0]))
	}
	return desc.OvfDescriptor, nil
}

func (m *Machine) download(ctx context.Context, dl *NFCDownloader, item nfc.FileItem, put PutFunc) (int64, error) {
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

// ExportName prefixes the export name to a lease file name, as
// vsphere-clone's export does: vSphere's lease says "disk-0.vmdk", the
// export holds "<name>-disk-0.vmdk".
func ExportName(name, leasePath string) string {
	if strings.HasPrefix(leasePath, name+"-") {
		return leasePath
	}
	return name + "-" + leasePath
}

// skipExportItem leaves out attached ISO/floppy images and the NVRAM file
// unless export.images / export.nvram ask for them.
func skipExportItem(e ExportOptions, p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".iso", ".flp", ".img":
		return !e.Images
	case ".nvram":
		return !e.NVRAM
	}
	return false
}

// Destroy powers the VM off if it is on and destroys it, on a fresh
// context: the build's may be cancelled. A VM already gone (an aborted
// import lease removes its VM) is no error.
func (m *Machine) Destroy() error {
	vm := m.VM
	ctx, cancel := CleanupContext()
	defer cancel()
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"runtime.powerState"}, &o); err != nil {
		if fault.Is(err, &types.ManagedObjectNotFound{}) {
			return nil
		}
		return err
	}
	if o.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
		if err := WaitTask(ctx, "powering off", vm.PowerOff); err != nil {
			log.Printf("%v (destroying anyway)", err)
		}
	}
	return WaitTask(ctx, "destroying the VM", vm.Destroy)
}

// FaultMessage is what a vSphere fault says, for an error or a warning.
func FaultMessage(f types.LocalizedMethodFault) string {
	if f.LocalizedMessage != "" {
		return f.LocalizedMessage
	}
	if f.Fault != nil {
		return fmt.Sprintf("%T", f.Fault)
	}
	return "unknown fault"
}
