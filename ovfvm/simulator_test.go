package ovfvm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/vmware/govmomi/ovf/importer"
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
	testenv.Require(t, testenv.Simulator, "imports into the vCenter simulator")
	cases := []struct {
		cfg        Config
		controller string
		nics       []string
	}{
		{Config{Name: "sim-default"}, "ParaVirtualSCSIController", []string{"VirtualVmxnet3"}},
		{Config{Name: "sim-lsi", CPUs: 4, CoresPerSocket: 2, Memory: 3072, OSType: "debian12_64Guest", HardwareVersion: "vmx-17",
			DiskControllerType: []string{"lsilogic"}, Firmware: "efi-secure",
			Networks: []NetworkAdapter{{Network: "VM Network"}, {Network: "DC0_DVPG0", NetworkCard: "e1000e"}}},
			"VirtualLsiLogicController", []string{"VirtualVmxnet3", "VirtualE1000e"}},
	}
	simimport.Run(t, func(ctx context.Context, sim *simimport.Env) error {
		for _, c := range cases {
			dir := t.TempDir()
			disks := realDisks(t, dir, DiskHref(c.cfg.Name, 0), DiskHref(c.cfg.Name, 1))
			p := writeOVF(t, dir, c.cfg, disks)
			var mapping []importer.Network
			for _, n := range c.cfg.resolved().networks {
				mapping = append(mapping, importer.Network{Name: n.Network, Network: n.Network})
			}
			ref, log, err := sim.Import(ctx, p, importer.Options{Name: &c.cfg.Name, NetworkMapping: mapping}, false)
			if err != nil {
				t.Errorf("%s: govmomi import: %v\n%s", c.cfg.Name, err, log)
				continue
			}
			for _, d := range disks {
				if !strings.Contains(log, d.Href) {
					t.Errorf("%s: the importer did not upload %s:\n%s", c.cfg.Name, d.Href, log)
				}
			}
			vm, err := sim.VM(ctx, *ref)
			if err != nil {
				return err
			}
			checkImported(t, c.cfg, vm.Config, c.controller, c.nics, disks)
		}
		return nil
	})
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
