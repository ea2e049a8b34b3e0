package vcsim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"

	"github.com/vmware/govmomi/object"
	govovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// CreateDescriptor describes the VM as it is now: the fixture has 2 vCPUs in
// 2 sockets and 1024 MB; the VM is reconfigured to other values first, so
// the assertions can only pass if the descriptor follows the VM.
func TestCreateDescriptor(t *testing.T) {
	ctx := t.Context()
	e := start(t, ModeVCenter)
	src := writeFixture(t, "desc", 2)
	vm, _ := e.importOVF(t, src, "desc-vm")
	reconfigure(t, vm)
	out := t.TempDir()
	items := exportAll(t, vm, out)

	var files []types.OvfFile
	for _, item := range items {
		fi, err := os.Stat(filepath.Join(out, item.Path))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, types.OvfFile{DeviceId: item.DeviceId, Path: item.Path, Size: fi.Size()})
	}
	m := govovf.NewManager(e.c)
	res, err := m.CreateDescriptor(ctx, vm, types.OvfCreateDescriptorParams{OvfFiles: files, Name: "desc-out"})
	if err != nil {
		t.Fatalf("CreateDescriptor: %v", err)
	}

	// govmomi's parser.
	env, err := govovf.Unmarshal(strings.NewReader(res.OvfDescriptor))
	if err != nil {
		t.Fatalf("govmomi ovf.Unmarshal: %v\n%s", err, res.OvfDescriptor)
	}
	if env.VirtualSystem == nil || env.VirtualSystem.ID != "desc-out" {
		t.Fatalf("VirtualSystem id: %+v", env.VirtualSystem)
	}
	if len(env.References) != 2 || len(env.Disk.Disks) != 2 {
		t.Fatalf("%d files / %d disks, want 2 / 2", len(env.References), len(env.Disk.Disks))
	}
	if c0, c1 := env.Disk.Disks[0].Capacity, env.Disk.Disks[1].Capacity; c0 != "33554432" || c1 != "16777216" {
		t.Errorf("disk capacities %s, %s; want the grown disk 0 (33554432) first, then 16777216", c0, c1)
	}
	if !strings.HasSuffix(items[0].Path, "disk-0.vmdk") {
		t.Errorf("export lease lists %s first, want disk 0", items[0].Path)
	}
	checkHardware(t, env)

	// Our own parser, with its href rules, sees the same files and sizes.
	d, err := ovf.Parse([]byte(res.OvfDescriptor))
	if err != nil {
		t.Fatalf("ovf.Parse: %v", err)
	}
	for i, f := range d.Files() {
		if f.Href != files[i].Path || f.Size != files[i].Size {
			t.Errorf("file %d: %+v, want href %s size %d", i, f, files[i].Path, files[i].Size)
		}
	}

	// A wrong deviceId is refused with a message naming it.
	_, err = m.CreateDescriptor(ctx, vm, types.OvfCreateDescriptorParams{OvfFiles: []types.OvfFile{{DeviceId: "/vm-x/nope:0", Path: "x.vmdk"}}})
	if err == nil || !strings.Contains(err.Error(), "/vm-x/nope:0") {
		t.Errorf("bad deviceId: err = %v", err)
	}

	// A subtest, so that a missing virt-v2v cannot hide the checks above.
	t.Run("virt-v2v", func(t *testing.T) { checkV2V(t, out, res.OvfDescriptor) })
}

// checkHardware wants 6 vCPUs, 3 per socket, 1536 MB, LSI Logic, 2 disks
// and a NIC on "VM Network".
func checkHardware(t *testing.T, env *govovf.Envelope) {
	t.Helper()
	counts := map[int]int{}
	var cpus, cores, mem uint64
	for _, item := range env.VirtualSystem.VirtualHardware[0].Item {
		counts[int(*item.ResourceType)]++
		switch *item.ResourceType {
		case govovf.Processor:
			cpus = uint64(*item.VirtualQuantity)
			if item.CoresPerSocket != nil {
				cores = uint64(item.CoresPerSocket.Value)
			}
		case govovf.Memory:
			mem = uint64(*item.VirtualQuantity)
		case govovf.EthernetAdapter:
			if len(item.Connection) != 1 || item.Connection[0] != "VM Network" {
				t.Errorf("NIC connection %v, want VM Network", item.Connection)
			}
		}
	}
	if cpus != 6 || cores != 3 || mem != 1536 || counts[17] != 2 || counts[6] != 1 || counts[10] != 1 {
		t.Errorf("hardware: cpus %d cores/socket %d mem %d items by type %v; want 6, 3, 1536, 2 disks, 1 SCSI, 1 NIC", cpus, cores, mem, counts)
	}

}

// reconfigure sets 6 vCPUs, 3 per socket, 1536 MB, and grows disk 0
// (16 MiB) to 32 MiB: vcsim moves an edited device to the end of its list;
// the export and descriptor must still list it first.
func reconfigure(t *testing.T, vm *object.VirtualMachine) {
	t.Helper()
	ctx := t.Context()
	devices, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	disk0 := devices.SelectByType((*types.VirtualDisk)(nil))[0].(*types.VirtualDisk)
	disk0.CapacityInBytes, disk0.CapacityInKB = 32<<20, 32<<10
	task, err := vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{NumCPUs: 6, NumCoresPerSocket: types.NewInt32(3), MemoryMB: 1536,
		DeviceChange: []types.BaseVirtualDeviceConfigSpec{&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationEdit, Device: disk0}}})
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatalf("reconfigure: %v", err)
	}
}

// checkV2V packs the descriptor with the files in dir and has virt-v2v's
// OVA parser read it.
func checkV2V(t *testing.T, dir, descriptor string) {
	ctx := t.Context()
	ovfPath := filepath.Join(dir, "desc-out.ovf")
	if err := os.WriteFile(ovfPath, []byte(descriptor), 0o644); err != nil {
		t.Fatal(err)
	}
	ovaPath := filepath.Join(t.TempDir(), "desc-out.ova")
	if _, err := ova.Pack(ctx, ova.Options{OVFPath: ovfPath, Output: ovaPath, ChecksumAlgorithm: "none"}); err != nil {
		t.Fatalf("ova.Pack: %v", err)
	}
	t.Logf("descriptor:\n%s", descriptor)
	virtv2v.Check(t, ovaPath, "source name: desc-out", "nr vCPUs: 6", "cores/socket: 3", "memory: 1610612736", "0 [scsi]", "1 [scsi]", `"VM Network" [vmxnet3]`)
}
