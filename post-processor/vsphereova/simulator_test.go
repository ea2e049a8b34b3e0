package vsphereova

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
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

	simimport.Run(t, func(ctx context.Context, sim *simimport.Env) error {
		importOVA := func(path string, vmName *string) (*types.ManagedObjectReference, string, error) {
			return sim.Import(ctx, path, importer.Options{
				Name:           vmName,
				NetworkMapping: []importer.Network{{Name: "VM Network", Network: "VM Network"}},
			}, true)
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
		props, err := sim.VM(ctx, *ref)
		if err != nil {
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
}
