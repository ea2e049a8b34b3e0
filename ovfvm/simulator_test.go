package ovfvm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// The generated OVF, beside real streamOptimized disks, imports into
// govmomi's vCenter simulator with govmomi's importer (what `govc
// import.ovf` runs), uploading every disk; the VM it creates has the CPUs,
// memory, guest, hardware version, controller, disks and NICs we asked
// for. The simulator's OVF import handles SCSI controllers (ResourceType
// 6) only, so SATA and NVMe are checked by TestGovmomiReadsGeneratedOVF
// with govmomi's full ToConfigSpec instead.
func TestImportIntoVCSimulator(t *testing.T) {
	if testing.Short() {
		t.Skip("imports into the vCenter simulator; skipped with -short")
	}
	cases := []struct {
		cfg        Config
		controller string
		nics       []string
	}{
		{Config{Name: "sim-default"}, "ParaVirtualSCSIController", []string{"VirtualVmxnet3"}},
		{Config{Name: "sim-lsi", CPUs: 4, CoresPerSocket: 2, Memory: 3072, OSType: "debian12_64Guest", HardwareVersion: "vmx-17",
			DiskController: "lsilogic", Firmware: "efi", SecureBoot: boolp(true),
			Networks: []Network{{Name: "VM Network"}, {Name: "DC0_DVPG0", Adapter: "e1000e"}}},
			"VirtualLsiLogicController", []string{"VirtualVmxnet3", "VirtualE1000e"}},
	}
	model := simulator.VPX()
	defer model.Remove()
	err := model.Run(func(ctx context.Context, vc *vim25.Client) error {
		finder := find.NewFinder(vc)
		dc, err := finder.DefaultDatacenter(ctx)
		if err != nil {
			return err
		}
		finder.SetDatacenter(dc)
		ds, err := finder.DefaultDatastore(ctx)
		if err != nil {
			return err
		}
		pool, err := finder.ResourcePool(ctx, "DC0_C0/Resources")
		if err != nil {
			return err
		}
		folders, err := dc.Folders(ctx)
		if err != nil {
			return err
		}
		for _, c := range cases {
			dir := t.TempDir()
			disks := realDisks(t, dir, DiskHref(c.cfg.Name, 0), DiskHref(c.cfg.Name, 1))
			p := writeOVF(t, dir, c.cfg, disks)
			var log strings.Builder
			imp := importer.Importer{
				Log:          func(msg string) (int, error) { return log.WriteString(msg) },
				Client:       vc,
				Finder:       finder,
				Datacenter:   dc,
				Datastore:    ds,
				ResourcePool: pool,
				Folder:       folders.VmFolder,
				Archive:      &importer.FileArchive{Path: p, Opener: importer.Opener{Client: vc}},
			}
			var mapping []importer.Network
			for _, n := range c.cfg.resolved().networks {
				mapping = append(mapping, importer.Network{Name: n.Name, Network: n.Name})
			}
			ref, err := imp.Import(ctx, p, importer.Options{Name: &c.cfg.Name, NetworkMapping: mapping})
			if err != nil {
				t.Errorf("%s: govmomi import: %v\n%s", c.cfg.Name, err, log.String())
				continue
			}
			for _, d := range disks {
				if !strings.Contains(log.String(), d.Href) {
					t.Errorf("%s: the importer did not upload %s:\n%s", c.cfg.Name, d.Href, log.String())
				}
			}
			var vm mo.VirtualMachine
			if err := object.NewVirtualMachine(vc, *ref).Properties(ctx, *ref, []string{"config"}, &vm); err != nil {
				return err
			}
			checkImported(t, c.cfg, vm.Config, c.controller, c.nics, disks)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
}

func checkImported(t *testing.T, cfg Config, vmc *types.VirtualMachineConfigInfo, controller string, nics []string, disks []Disk) {
	t.Helper()
	v := cfg.resolved()
	h := vmc.Hardware
	if int(h.NumCPU) != v.cpus || int(h.MemoryMB) != v.memory {
		t.Errorf("%s: imported %d CPUs, %d MiB; want %d, %d", cfg.Name, h.NumCPU, h.MemoryMB, v.cpus, v.memory)
	}
	if vmc.GuestId != v.guest.id || vmc.Version != fmt.Sprintf("vmx-%02d", v.hwVersion) {
		t.Errorf("%s: imported guest %s version %s; want %s vmx-%02d", cfg.Name, vmc.GuestId, vmc.Version, v.guest.id, v.hwVersion)
	}
	var ctrlKey int32 = -1
	var gotNICs []string
	var gotDisks []*types.VirtualDisk
	for _, d := range h.Device {
		name := fmt.Sprintf("%T", d)[len("*types."):]
		switch x := d.(type) {
		case *types.VirtualDisk:
			gotDisks = append(gotDisks, x)
		case types.BaseVirtualEthernetCard:
			gotNICs = append(gotNICs, name)
		default:
			if name == controller {
				ctrlKey = d.GetVirtualDevice().Key
			}
		}
	}
	if ctrlKey < 0 {
		t.Errorf("%s: imported VM has no %s", cfg.Name, controller)
	}
	if strings.Join(gotNICs, ",") != strings.Join(nics, ",") {
		t.Errorf("%s: imported NICs %v; want %v", cfg.Name, gotNICs, nics)
	}
	if len(gotDisks) != len(disks) {
		t.Fatalf("%s: imported %d disks; want %d", cfg.Name, len(gotDisks), len(disks))
	}
	for i, d := range gotDisks {
		if d.ControllerKey != ctrlKey || d.CapacityInKB*1024 != disks[i].Capacity {
			t.Errorf("%s: disk %d on controller %d with %d KiB; want %d and %d KiB", cfg.Name, i, d.ControllerKey, d.CapacityInKB, ctrlKey, disks[i].Capacity/1024)
		}
	}
}
