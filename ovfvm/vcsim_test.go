package ovfvm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simimport"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// Round trip through this repo's vCenter stand-in: the generated OVF is
// imported (govmomi's importer, disks uploaded), then OvfManager
// .CreateDescriptor describes the VM it became the way internal/testkit/vcsim
// imitates vCenter's export. Both descriptors must describe the same
// hardware: CPUs, memory, the controller and its subtype, disks with their
// capacity in bytes, NICs with subtype and network.
func TestVCSimExportOfImportedVMMatches(t *testing.T) {
	testenv.Require(t, testenv.Simulator, "imports into the vCenter simulator")
	ctx := t.Context()
	s, err := vcsim.Start(ctx, vcsim.ModeVCenter)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	gc, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	defer func() { _ = gc.Logout(context.Background()) }()
	env, err := simimport.New(ctx, gc.Client)
	if err != nil {
		t.Fatal(err)
	}

	cfg := Config{Name: "roundtrip", CPUs: 4, CoresPerSocket: 2, Memory: 3072, OSType: "ubuntu64Guest", HardwareVersion: "vmx-17",
		Networks: []NetworkAdapter{{Network: "VM Network"}, {Network: "VM Network", NetworkCard: "e1000e"}}}
	dir := t.TempDir()
	disks := realDisks(t, dir, DiskHref(cfg.Name, 0), DiskHref(cfg.Name, 1))
	p := writeOVF(t, dir, cfg, disks)
	ref, log, err := env.Import(ctx, p, importer.Options{Name: &cfg.Name, NetworkMapping: []importer.Network{{Name: "VM Network", Network: "VM Network"}}}, false)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, log)
	}
	res, err := govmomiovf.NewManager(gc.Client).CreateDescriptor(ctx, types.ManagedObjectReference(*ref), types.OvfCreateDescriptorParams{Name: cfg.Name})
	if err != nil {
		t.Fatalf("CreateDescriptor: %v", err)
	}
	generated, err := Generate(&cfg, disks)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := hardwareOf(t, string(generated)), hardwareOf(t, res.OvfDescriptor)
	if ours != theirs {
		t.Errorf("the exported VM differs from the generated OVF:\nours:   %s\nexport: %s", ours, theirs)
	}
}

// hardwareOf summarizes what a descriptor says about the VM's hardware.
func hardwareOf(t *testing.T, desc string) string {
	t.Helper()
	env, err := govmomiovf.Unmarshal(strings.NewReader(desc))
	if err != nil {
		t.Fatalf("Unmarshal: %v\n%s", err, desc)
	}
	var parts []string
	capacity := map[string]string{}
	for _, d := range env.Disk.Disks {
		capacity[d.DiskID] = d.Capacity + " " + deref(d.CapacityAllocationUnits)
	}
	hw := env.VirtualSystem.VirtualHardware[0]
	parts = append(parts, "guest "+deref(env.VirtualSystem.OperatingSystem.OSType), "version "+deref(hw.System.VirtualSystemType))
	for _, it := range hw.Item {
		switch *it.ResourceType {
		case 3:
			parts = append(parts, fmt.Sprintf("%d CPUs", *it.VirtualQuantity))
		case 4:
			parts = append(parts, fmt.Sprintf("%d %s", *it.VirtualQuantity, deref(it.AllocationUnits)))
		case 6, 20:
			parts = append(parts, "controller "+deref(it.ResourceSubType))
		case 17:
			id := it.HostResource[0][strings.LastIndex(it.HostResource[0], "/")+1:]
			parts = append(parts, "disk "+capacity[id])
		case 10:
			parts = append(parts, fmt.Sprintf("NIC %s on %v", deref(it.ResourceSubType), it.Connection))
		}
	}
	return strings.Join(parts, ", ")
}
