package vsphereovaqemu

import (
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
)

func generated(t *testing.T, c ovfvm.Config, disks ...ovfvm.Disk) []byte {
	t.Helper()
	desc, err := ovfvm.Generate(&c, disks)
	if err != nil {
		t.Fatal(err)
	}
	return desc
}

// The machine is read as vSphere exports describe it (ovfvm writes what
// vCenter writes): controllers, units, NICs, firmware, secure boot.
func TestReadMachine(t *testing.T) {
	desc := generated(t, ovfvm.Config{
		Name: "vm", CPUs: 4, CoresPerSocket: 2, Memory: 3072, Firmware: "efi-secure",
		DiskControllerType: []string{"nvme"}, Networks: []ovfvm.NetworkAdapter{{NetworkCard: "e1000e"}, {NetworkCard: "vmxnet3"}},
	}, ovfvm.Disk{Href: "a.vmdk", Size: 1, Capacity: 1 << 30}, ovfvm.Disk{Href: "b.vmdk", Size: 1, Capacity: 2 << 30})
	m, err := readMachine(mustDocument(t, desc))
	if err != nil {
		t.Fatal(err)
	}
	if m.CPUs != 4 || m.CoresPerSocket != 2 || m.MemoryMiB != 3072 || m.Firmware != "efi" || !m.SecureBoot {
		t.Errorf("machine %+v", m)
	}
	if len(m.Controllers) != 1 || m.Controllers[0] != qemu.NVMe {
		t.Errorf("controllers %v", m.Controllers)
	}
	if len(m.Disks) != 2 || m.Disks[0].Href != "a.vmdk" || m.Disks[1].CapacityBytes != 2<<30 || m.Disks[0].Unit == m.Disks[1].Unit {
		t.Errorf("disks %+v", m.Disks)
	}
	if len(m.NICs) != 2 || m.NICs[0].Model != qemu.E1000E || m.NICs[1].Model != qemu.VMXNET3 {
		t.Errorf("NICs %+v", m.NICs)
	}

	for _, ctl := range []struct{ opt, want string }{{"pvscsi", qemu.PVSCSI}, {"lsilogic", qemu.LSILogic}, {"sata", qemu.SATA}} {
		m, err := readMachine(mustDocument(t, generated(t, ovfvm.Config{Name: "vm", DiskControllerType: []string{ctl.opt}}, ovfvm.Disk{Href: "a.vmdk", Size: 1, Capacity: 1 << 20})))
		if err != nil || m.Controllers[0] != ctl.want || m.Firmware != "bios" {
			t.Errorf("%s: %+v, %v", ctl.opt, m, err)
		}
	}
}

// The export's descriptor is the source's with only the values the build
// changed rewritten: every other line is byte for byte the same.
func TestEditDescriptorFaithful(t *testing.T) {
	src := generated(t, ovfvm.Config{Name: "vm", CPUs: 2, CoresPerSocket: 1, Memory: 1024},
		ovfvm.Disk{Href: "vm-disk-0.vmdk", Size: 1000, Capacity: 1 << 30, PopulatedSize: 4096})
	out, err := editDescriptor(src, descriptorEdits{Name: "app", CPUs: 4, CoresPerSocket: 2, MemoryMiB: 2048, Disks: []diskEdit{{
		DiskID: "vmdisk1", OldHref: "vm-disk-0.vmdk", NewHref: "app-disk-0.vmdk", FileSize: 1234, Capacity: 2 << 30, PopulatedSize: 8192,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := strings.Split(string(src), "\n"), strings.Split(string(out), "\n")
	if len(a) != len(b) {
		t.Fatalf("line count %d -> %d:\n%s", len(a), len(b), out)
	}
	var changed []string
	for i := range a {
		if a[i] != b[i] {
			changed = append(changed, b[i])
		}
	}
	for _, want := range []string{`ovf:href="app-disk-0.vmdk"`, `ovf:size="1234"`, `ovf:populatedSize="8192"`,
		"<rasd:VirtualQuantity>4<", `<VirtualSystem ovf:id="app">`, "<Name>app</Name>", "<rasd:VirtualQuantity>2048<", "CoresPerSocket", `ovf:capacity="2147483648"`} {
		if !strings.Contains(strings.Join(changed, "\n"), want) {
			t.Errorf("no changed line has %q; changed:\n%s", want, strings.Join(changed, "\n"))
		}
	}
	if len(changed) > 8 {
		t.Errorf("%d lines changed, want at most 8 (File, Disk, VirtualSystem id and Name, CPU count, cores, memory):\n%s", len(changed), strings.Join(changed, "\n"))
	}
}

// firmware = "efi" on a BIOS OVF is recorded as vSphere's export writes it,
// so the OVA boots with the firmware it was built with.
func TestEditDescriptorFirmware(t *testing.T) {
	src := generated(t, ovfvm.Config{Name: "vm"}, ovfvm.Disk{Href: "a.vmdk", Size: 1, Capacity: 1 << 20})
	out, err := editDescriptor(src, descriptorEdits{Firmware: "efi", SecureBoot: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := readMachine(mustDocument(t, out))
	if err != nil {
		t.Fatal(err)
	}
	if m.Firmware != "efi" || !m.SecureBoot {
		t.Errorf("after the edit: firmware %q secure boot %v\n%s", m.Firmware, m.SecureBoot, out)
	}
}

// vSphere's own exports read through the document model: the hardware
// version, the controllers and files they carry, and an OVF 2 envelope
// whose items are StorageItem and EthernetPortItem.
func TestReadMachineVSphereExports(t *testing.T) {
	m, err := readMachine(mustDocument(t, ovftest.EFI()))
	if err != nil {
		t.Fatal(err)
	}
	if m.Firmware != "efi" || !m.SecureBoot || m.HardwareVersion != 21 || strings.Join(m.Controllers, ",") != qemu.PVSCSI ||
		len(m.NICs) != 1 || m.NICs[0].Model != qemu.VMXNET3 || strings.Join(m.Files, ",") != "efi-vm-disk-0.vmdk,efi-vm-file1.nvram" {
		t.Errorf("efi export: %+v", m)
	}
	b, err := readMachine(mustDocument(t, ovftest.Basic()))
	if err != nil {
		t.Fatal(err)
	}
	if b.Firmware != "bios" || b.HardwareVersion != 13 || strings.Join(b.Controllers, ",") != qemu.LSILogic || len(b.Disks) != 1 {
		t.Errorf("basic export: %+v", b)
	}
	// A .vmx's keys as vmw:ExtraConfig (what other exporters write).
	vmx := strings.Replace(string(ovftest.Basic()), "</VirtualHardwareSection>",
		`<vmw:ExtraConfig ovf:required="false" vmw:key="firmware" vmw:value="efi"/>
      <vmw:ExtraConfig ovf:required="false" vmw:key="uefi.secureBoot.enabled" vmw:value="TRUE"/>
    </VirtualHardwareSection>`, 1)
	if x, err := readMachine(mustDocument(t, []byte(vmx))); err != nil || x.Firmware != "efi" || !x.SecureBoot {
		t.Errorf("vmw:ExtraConfig firmware: %+v, %v", x, err)
	}
	ovf2 := strings.NewReplacer(
		"http://schemas.dmtf.org/ovf/envelope/1", "http://schemas.dmtf.org/ovf/envelope/2",
		"<Item>", "<StorageItem>", "</Item>", "</StorageItem>",
	).Replace(string(ovftest.Basic()))
	o, err := readMachine(mustDocument(t, []byte(ovf2)))
	if err != nil || strings.Join(o.Controllers, ",") != qemu.LSILogic || len(o.Disks) != 1 || len(o.NICs) != 1 {
		t.Errorf("OVF 2 envelope: %+v, %v", o, err)
	}
}

// A descriptor readMachine cannot boot is refused with what is wrong and
// where.
func TestReadMachineErrors(t *testing.T) {
	basic := string(ovftest.Basic())
	for _, c := range []struct{ old, new, want string }{
		{"<rasd:ResourceSubType>lsilogic<", "<rasd:ResourceSubType>buslogic<", `unknown disk controller "buslogic"`},
		{"<rasd:ResourceSubType>lsilogic<", "<rasd:ResourceSubType>megaraid<", `unknown disk controller "megaraid" (want pvscsi`},
		{`ovf:fileRef="file0"`, `ovf:fileRef="nope"`, "has no file in References"},
		{"<rasd:AllocationUnits>byte * 2^20<", "<rasd:AllocationUnits>hertz * 10^6<", `allocation units "hertz * 10^6"`},
		{"</VirtualHardwareSection>", `<vmw:Config ovf:required="false" vmw:key="firmware" vmw:value="csm"/></VirtualHardwareSection>`, `firmware "csm"`},
		{"<rasd:Parent>", "<rasd:Parentx>", "has no Parent controller"},
	} {
		desc := strings.Replace(basic, c.old, c.new, 1)
		if c.old == "<rasd:Parent>" {
			desc = strings.Replace(desc, "</rasd:Parent>", "</rasd:Parentx>", 1)
		}
		if desc == basic {
			t.Fatalf("%q is not in the fixture", c.old)
		}
		if _, err := readMachine(mustDocument(t, []byte(desc))); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.new, err, c.want)
		}
	}
}
