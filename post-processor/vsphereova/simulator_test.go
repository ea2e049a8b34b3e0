package vsphereova

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/fixture"
)

// TestImportIntoVCSimulator imports our OVA with govmomi's own OVA import
// code (what `govc import.ova` runs) into govmomi's in-process vCenter
// simulator. The simulator computes SHA-1 of uploaded disks only, so the OVA
// is packed with manifest_algorithm = "sha1" and the importer verifies every
// disk against our manifest.
func TestImportIntoVCSimulator(t *testing.T) {
	const name = "sim-vm"
	_, files := export(t, fixture.ExportOptions{Name: name, Disks: 2, DiskMiB: 24, DataMiB: 2, WithManifest: true})
	art, _ := mustPack(t, files, map[string]interface{}{"manifest_algorithm": "sha1"})

	model := simulator.VPX()
	defer model.Remove()
	err := model.Run(func(ctx context.Context, c *vim25.Client) error {
		finder := find.NewFinder(c)
		dc, err := finder.DefaultDatacenter(ctx)
		if err != nil {
			return err
		}
		finder.SetDatacenter(dc)
		ds, err := finder.DefaultDatastore(ctx)
		if err != nil {
			return err
		}
		// VPX() has a cluster and a standalone host; import into the cluster.
		pool, err := finder.ResourcePool(ctx, "DC0_C0/Resources")
		if err != nil {
			return err
		}
		folders, err := dc.Folders(ctx)
		if err != nil {
			return err
		}
		importOVA := func(path string, vmName *string) (*types.ManagedObjectReference, string, error) {
			var log strings.Builder
			imp := importer.Importer{
				Log:            func(msg string) (int, error) { return log.WriteString(msg) },
				VerifyManifest: true,
				Client:         c,
				Finder:         finder,
				Datacenter:     dc,
				Datastore:      ds,
				ResourcePool:   pool,
				Folder:         folders.VmFolder,
				Archive:        &importer.TapeArchive{Path: path, Opener: importer.Opener{Client: c}},
			}
			ref, err := imp.Import(ctx, "*.ovf", importer.Options{
				Name:           vmName,
				NetworkMapping: []importer.Network{{Name: "VM Network", Network: "VM Network"}},
			})
			return ref, log.String(), err
		}
		ref, log, err := importOVA(art.Path, nil)
		if err != nil {
			t.Fatalf("govmomi import of %s: %v\n%s", art.Path, err, log)
		}
		// The same import must fail on a copy with one disk byte changed,
		// or the check above proves nothing.
		bad := filepath.Join(t.TempDir(), "corrupt.ova")
		corruptCopy(t, art.Path, bad, fixture.DiskName(name, 1))
		other := "corrupt-vm"
		if _, log, err := importOVA(bad, &other); err == nil || !strings.Contains(err.Error(), "mismatch") {
			t.Errorf("govmomi import of a corrupted OVA: err = %v, want a checksum mismatch\n%s", err, log)
		}
		vm := object.NewVirtualMachine(c, *ref)
		var props mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"name", "config"}, &props); err != nil {
			return err
		}
		if props.Name != name {
			t.Errorf("imported VM is named %q, want %q", props.Name, name)
		}
		devices := object.VirtualDeviceList(props.Config.Hardware.Device)
		disks := devices.SelectByType((*types.VirtualDisk)(nil))
		if len(disks) != 2 {
			t.Fatalf("imported VM has %d disks, want 2", len(disks))
		}
		for _, d := range disks {
			if kb := d.(*types.VirtualDisk).CapacityInKB; kb != 24*1024 {
				t.Errorf("disk capacity %d KiB, want %d", kb, 24*1024)
			}
		}
		if nics := devices.SelectByType((*types.VirtualVmxnet3)(nil)); len(nics) != 1 {
			t.Errorf("imported VM has %d vmxnet3 NICs, want 1", len(nics))
		}
		if props.Config.Hardware.NumCPU != 2 || props.Config.Hardware.MemoryMB != 1024 {
			t.Errorf("hardware: %d CPUs, %d MB", props.Config.Hardware.NumCPU, props.Config.Hardware.MemoryMB)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
}
