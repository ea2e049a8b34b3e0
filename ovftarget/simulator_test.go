package ovftarget

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
)

// Each target's descriptor, beside real streamOptimized disks, imports into
// govmomi's vCenter simulator with govmomi's own importer (what
// `govc import.ovf` runs); the VM it creates carries our vApp properties
// and product, and the deploy-time value given to the importer.
func TestImportEveryTargetIntoVCSimulator(t *testing.T) {
	testenv.Require(t, testenv.Simulator, "imports into the vCenter simulator")
	dir := t.TempDir()
	const name = "sim-vm"
	ovfPath, err := fixture.WriteExport(dir, fixture.ExportOptions{Name: name, DiskMiB: 8, QemuImg: testenv.LookPath(t, "qemu-img")})
	if err != nil {
		t.Fatal(err)
	}
	export, err := os.ReadFile(ovfPath)
	if err != nil {
		t.Fatal(err)
	}
	c := prepared(t, fullOptions(t))

	simimport.Run(t, func(ctx context.Context, sim *simimport.Env) error {
		for _, target := range allTargets {
			r := customize(t, export, target, c)
			p := filepath.Join(dir, name+"-"+string(target)+".ovf")
			if err := os.WriteFile(p, r.Descriptor, 0o600); err != nil {
				t.Fatal(err)
			}
			vmName := name + "-" + string(target)
			ref, log, err := sim.Import(ctx, p, importer.Options{
				Name:            &vmName,
				NetworkMapping:  []importer.Network{{Name: "VM Network", Network: "VM Network"}},
				PropertyMapping: []importer.Property{{KeyValue: importer.KeyValue{Key: "ip0", Value: "192.0.2.10"}}},
			}, false)
			if err != nil {
				t.Errorf("%s: govmomi import: %v\n%s", target, err, log)
				continue
			}
			vm, err := sim.VM(ctx, *ref)
			if err != nil {
				return err
			}
			va := vm.Config.VAppConfig
			if va == nil {
				t.Errorf("%s: imported VM has no vApp config", target)
				continue
			}
			info := va.GetVmConfigInfo()
			got := map[string]types.VAppPropertyInfo{}
			for _, p := range info.Property {
				got[p.Id] = p
			}
			for _, k := range []string{"instance-id", "hostname", "public-keys", "user-data", "ip0", "debug"} {
				if _, ok := got[k]; !ok {
					t.Errorf("%s: imported VM lacks vApp property %q (has %d)", target, k, len(got))
				}
			}
			if v := got["ip0"].Value; v != "192.0.2.10" {
				t.Errorf("%s: ip0 = %q, want the deploy-time value", target, v)
			}
			if len(info.Product) == 0 || info.Product[0].Name != "Acme Appliance" || info.Product[0].Vendor != "Acme & Co" {
				t.Errorf("%s: vApp product %+v", target, info.Product)
			}
			// The simulator does not copy ovf:transport into the vApp config;
			// TestGovmomiReadsBackEveryTarget checks it in the descriptor.
		}
		return nil
	})
}
