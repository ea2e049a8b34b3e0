// generate_test.go is past 350 lines because each reader's assertions
// (govmomi's envelope, its ConfigSpec, every target) sit beside the cases
// they check.

package ovfvm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovftarget"
)

func boolp(b bool) *bool { return &b }

// genCase is a VM and the values a reader must find in its OVF.
type genCase struct {
	name  string
	cfg   Config
	disks []Disk
	want  want
}

type want struct {
	cpus, cores, memory int
	firmware            string
	secureBoot          bool
	osType              string
	cim                 int
	osVersion           string
	hw                  string
	controller          string // Go type name of the controller govmomi creates
	subtype             string
	resourceType        int
	nics                []string // Go type names of the NICs
	networks            []string // Connection of each NIC
	macs                []string // rasd:Address of each NIC, "" for none
	videoKB             int64
}

func diskOf(href string, size, capacity, populated int64) Disk {
	return Disk{Href: href, Size: size, Capacity: capacity, PopulatedSize: populated}
}

func genCases() []genCase {
	return []genCase{
		{
			name:  "defaults",
			cfg:   Config{Name: "plain"},
			disks: []Disk{diskOf("plain-disk-0.vmdk", 123456, 10<<30, 3<<20)},
			want: want{cpus: 2, cores: 1, memory: 2048, firmware: "bios", osType: "otherLinux64Guest", cim: 101,
				hw: "vmx-14", controller: "ParaVirtualSCSIController", subtype: "VirtualSCSI", resourceType: 6,
				nics: []string{"VirtualVmxnet3"}, networks: []string{"VM Network"}, videoKB: 4096},
		},
		{
			name: "efi-secureboot-nvme-2nics-2disks",
			cfg: Config{Name: "appliance", CPUs: 4, CoresPerSocket: 2, Memory: 4096, Firmware: "efi-secure",
				OSType: "debian12_64Guest", HardwareVersion: "vmx-19", DiskControllerType: []string{"nvme"},
				Networks: []NetworkAdapter{{Network: "VM Network", NetworkCard: "vmxnet3"}, {Network: "Lab & \"Test\" <net>", NetworkCard: "e1000e", MACAddress: "00:50:56:3F:00:0A"}}},
			disks: []Disk{diskOf("appliance-disk-0.vmdk", 5555, 8<<30, 1<<30), diskOf("appliance-disk-1.vmdk", 4444, 1<<30, 0)},
			want: want{cpus: 4, cores: 2, memory: 4096, firmware: "efi", secureBoot: true, osType: "debian12_64Guest", cim: 96, osVersion: "12",
				hw: "vmx-19", controller: "VirtualNVMEController", subtype: "vmware.nvme.controller", resourceType: 20,
				nics: []string{"VirtualVmxnet3", "VirtualE1000e"}, networks: []string{"VM Network", "Lab & \"Test\" <net>"}, macs: []string{"", "00:50:56:3f:00:0a"}, videoKB: 8192},
		},
		{
			name:  "efi-lsilogic",
			cfg:   Config{Name: "ubu", Firmware: "efi", OSType: "ubuntu64Guest", DiskControllerType: []string{"lsilogic"}, Memory: 1024, CPUs: 1},
			disks: []Disk{diskOf("ubu-disk-0.vmdk", 999, 20<<30, 5<<30)},
			want: want{cpus: 1, cores: 1, memory: 1024, firmware: "efi", osType: "ubuntu64Guest", cim: 94,
				hw: "vmx-14", controller: "VirtualLsiLogicController", subtype: "lsilogic", resourceType: 6,
				nics: []string{"VirtualVmxnet3"}, networks: []string{"VM Network"}, videoKB: 8192},
		},
		{
			name: "sata-windows-e1000e",
			cfg: Config{Name: "win", OSType: "windows2019srv_64Guest", DiskControllerType: []string{"sata"}, Memory: 8192, CPUs: 8, CoresPerSocket: 4,
				Networks: []NetworkAdapter{{NetworkCard: "e1000e"}, {Network: "Backup", NetworkCard: "e1000e"}}},
			disks: []Disk{diskOf("win-disk-0.vmdk", 7777, 40<<30, 9<<30), diskOf("win-disk-1.vmdk", 512, 512, 0)},
			want: want{cpus: 8, cores: 4, memory: 8192, firmware: "bios", osType: "windows2019srv_64Guest", cim: 112,
				hw: "vmx-14", controller: "VirtualAHCIController", subtype: "vmware.sata.ahci", resourceType: 20,
				nics: []string{"VirtualE1000e", "VirtualE1000e"}, networks: []string{"VM Network", "Backup"}, videoKB: 4096},
		},
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func generate(t *testing.T, c genCase) []byte {
	t.Helper()
	cfg := c.cfg
	if errs := cfg.Prepare(); len(errs) > 0 {
		t.Fatalf("%s: Prepare: %v", c.name, errs)
	}
	out, err := Generate(&cfg, c.disks)
	if err != nil {
		t.Fatalf("%s: Generate: %v", c.name, err)
	}
	return out
}

// govmomi's OVF reader (what govc import.ovf and the vSphere Go tools
// use) reads every value back, and its ToConfigSpec (VMware's OVF to
// ConfigSpec conversion) builds the VM we asked for, in strict mode.
func TestGovmomiReadsGeneratedOVF(t *testing.T) {
	for _, c := range genCases() {
		t.Run(c.name, func(t *testing.T) {
			out := generate(t, c)
			env, err := govmomiovf.Unmarshal(bytes.NewReader(out))
			if err != nil {
				t.Fatalf("govmomi ovf.Unmarshal: %v", err)
			}
			checkEnvelope(t, env, c)
			spec, err := env.ToConfigSpecWithOptions(govmomiovf.ToConfigSpecOptions{Strict: true})
			if err != nil {
				t.Fatalf("govmomi ToConfigSpec (strict): %v", err)
			}
			checkConfigSpec(t, spec, c)
		})
	}
}

// checkEnvelope is long: it walks the envelope section by section.
func checkEnvelope(t *testing.T, env *govmomiovf.Envelope, c genCase) {
	t.Helper()
	w := c.want
	if len(env.References) != len(c.disks) || env.Disk == nil || len(env.Disk.Disks) != len(c.disks) {
		t.Fatalf("references %d, disks %v; want %d each", len(env.References), env.Disk, len(c.disks))
	}
	for i, d := range c.disks {
		f, dd := env.References[i], env.Disk.Disks[i]
		if f.Href != d.Href || int64(f.Size) != d.Size {
			t.Errorf("File %d = %s size %d; want %s size %d", i, f.Href, f.Size, d.Href, d.Size)
		}
		if dd.FileRef == nil || *dd.FileRef != f.ID {
			t.Errorf("Disk %d fileRef %v, want %s", i, dd.FileRef, f.ID)
		}
		if dd.Capacity != fmt.Sprint(d.Capacity) || dd.CapacityAllocationUnits == nil || *dd.CapacityAllocationUnits != "byte" {
			t.Errorf("Disk %d capacity %s %v; want %d byte", i, dd.Capacity, dd.CapacityAllocationUnits, d.Capacity)
		}
		switch {
		case d.PopulatedSize == 0 && dd.PopulatedSize != nil:
			t.Errorf("Disk %d has populatedSize %d; want none", i, *dd.PopulatedSize)
		case d.PopulatedSize > 0 && (dd.PopulatedSize == nil || int64(*dd.PopulatedSize) != d.PopulatedSize):
			t.Errorf("Disk %d populatedSize %v; want %d", i, dd.PopulatedSize, d.PopulatedSize)
		}
		if dd.Format == nil || *dd.Format != StreamOptimizedFormat {
			t.Errorf("Disk %d format %v", i, dd.Format)
		}
	}
	vs := env.VirtualSystem
	if vs == nil || vs.ID != c.cfg.Name || vs.Name == nil || *vs.Name != c.cfg.Name {
		t.Fatalf("VirtualSystem %+v; want id and Name %q", vs, c.cfg.Name)
	}
	os := vs.OperatingSystem
	if os == nil || os.OSType == nil || *os.OSType != w.osType || int(os.ID) != w.cim {
		t.Fatalf("OperatingSystemSection %+v; want id %d osType %s", os, w.cim, w.osType)
	}
	if ver := deref(os.Version); ver != w.osVersion {
		t.Errorf("OperatingSystemSection version %q; want %q", ver, w.osVersion)
	}
	hw := vs.VirtualHardware[0]
	if hw.System == nil || hw.System.VirtualSystemType == nil || *hw.System.VirtualSystemType != w.hw {
		t.Errorf("VirtualSystemType %v; want %s", hw.System, w.hw)
	}
	var ctrlID string
	var nics []govmomiovf.ResourceAllocationSettingData
	ndisk := 0
	for _, it := range hw.Item {
		switch *it.ResourceType {
		case govmomiovf.Processor:
			if *it.VirtualQuantity != uint(w.cpus) || it.CoresPerSocket == nil || it.CoresPerSocket.Value != int32(w.cores) {
				t.Errorf("CPU item %d cpus %+v cores; want %d/%d", *it.VirtualQuantity, it.CoresPerSocket, w.cpus, w.cores)
			}
		case govmomiovf.Memory:
			if *it.VirtualQuantity != uint(w.memory) || *it.AllocationUnits != "byte * 2^20" {
				t.Errorf("memory item %d %s; want %d MiB", *it.VirtualQuantity, *it.AllocationUnits, w.memory)
			}
		case govmomiovf.CIMResourceType(w.resourceType):
			if it.ResourceSubType != nil && *it.ResourceSubType == w.subtype {
				ctrlID = it.InstanceID
			}
		case govmomiovf.DiskDrive:
			if it.Parent == nil || *it.Parent != ctrlID || ctrlID == "" {
				t.Errorf("disk item %s parent %v; want the %s controller %q", it.InstanceID, it.Parent, w.subtype, ctrlID)
			}
			if len(it.HostResource) != 1 || it.HostResource[0] != fmt.Sprintf("ovf:/disk/vmdisk%d", ndisk+1) {
				t.Errorf("disk item %s host resource %v", it.InstanceID, it.HostResource)
			}
			ndisk++
		case govmomiovf.EthernetAdapter:
			nics = append(nics, it)
		}
	}
	if ctrlID == "" {
		t.Errorf("no controller item of type %d subtype %s", w.resourceType, w.subtype)
	}
	if ndisk != len(c.disks) {
		t.Errorf("%d disk items; want %d", ndisk, len(c.disks))
	}
	if len(nics) != len(w.networks) {
		t.Fatalf("%d NIC items; want %d", len(nics), len(w.networks))
	}
	for i, n := range nics {
		if len(n.Connection) != 1 || n.Connection[0] != w.networks[i] || n.AutomaticAllocation == nil || !*n.AutomaticAllocation {
			t.Errorf("NIC %d connection %v automatic %v; want %q", i, n.Connection, n.AutomaticAllocation, w.networks[i])
		}
		mac := ""
		if n.Address != nil {
			mac = *n.Address
		}
		if want := ""; len(w.macs) > i && w.macs[i] != mac || len(w.macs) <= i && mac != want {
			t.Errorf("NIC %d rasd:Address %q; want %v", i, mac, w.macs)
		}
	}
	names := map[string]bool{}
	for _, n := range env.Network.Networks {
		names[n.Name] = true
	}
	for _, n := range w.networks {
		if !names[n] {
			t.Errorf("NetworkSection lacks %q (has %v)", n, names)
		}
	}
}

func checkConfigSpec(t *testing.T, spec types.VirtualMachineConfigSpec, c genCase) {
	t.Helper()
	w := c.want
	if spec.NumCPUs != int32(w.cpus) || spec.NumCoresPerSocket == nil || *spec.NumCoresPerSocket != int32(w.cores) || spec.MemoryMB != int64(w.memory) {
		t.Errorf("ConfigSpec cpus %d cores %v memory %d; want %d/%d/%d", spec.NumCPUs, spec.NumCoresPerSocket, spec.MemoryMB, w.cpus, w.cores, w.memory)
	}
	if spec.Firmware != w.firmware {
		t.Errorf("ConfigSpec firmware %q; want %q", spec.Firmware, w.firmware)
	}
	if spec.BootOptions == nil || spec.BootOptions.EfiSecureBootEnabled == nil || *spec.BootOptions.EfiSecureBootEnabled != w.secureBoot {
		t.Errorf("ConfigSpec boot options %+v; want EFI Secure Boot %v", spec.BootOptions, w.secureBoot)
	}
	if spec.GuestId != w.osType || spec.Version != w.hw {
		t.Errorf("ConfigSpec guest %q version %q; want %q %q", spec.GuestId, spec.Version, w.osType, w.hw)
	}
	var ctrl types.BaseVirtualDevice
	var nics []string
	var disks []*types.VirtualDisk
	ide := 0
	for _, dc := range spec.DeviceChange {
		d := dc.GetVirtualDeviceConfigSpec().Device
		name := fmt.Sprintf("%T", d)[len("*types."):]
		switch x := d.(type) {
		case *types.VirtualDisk:
			disks = append(disks, x)
		case *types.VirtualIDEController:
			ide++
		case types.BaseVirtualEthernetCard:
			nics = append(nics, name)
			card := x.GetVirtualEthernetCard()
			if card.WakeOnLanEnabled == nil || !*card.WakeOnLanEnabled {
				t.Errorf("NIC %s: wake on LAN %v; vSphere's default is on", name, card.WakeOnLanEnabled)
			}
		case *types.VirtualMachineVideoCard:
			if x.VideoRamSizeInKB != w.videoKB {
				t.Errorf("video RAM %d KB; want %d", x.VideoRamSizeInKB, w.videoKB)
			}
		case *types.VirtualMachineVMCIDevice, *types.VirtualPCIController, *types.VirtualSIOController:
		default:
			if name == w.controller {
				ctrl = d
			}
		}
	}
	if ctrl == nil {
		t.Fatalf("ConfigSpec has no %s", w.controller)
	}
	if ide != 2 {
		t.Errorf("%d IDE controllers; a vSphere VM has 2", ide)
	}
	if strings.Join(nics, ",") != strings.Join(w.nics, ",") {
		t.Errorf("NICs %v; want %v", nics, w.nics)
	}
	if len(disks) != len(c.disks) {
		t.Fatalf("%d disks; want %d", len(disks), len(c.disks))
	}
	for i, d := range disks {
		if d.ControllerKey != ctrl.GetVirtualDevice().Key {
			t.Errorf("disk %d on controller %d; want %s (%d)", i, d.ControllerKey, w.controller, ctrl.GetVirtualDevice().Key)
		}
		if d.CapacityInBytes != c.disks[i].Capacity {
			t.Errorf("disk %d capacity %d; want %d", i, d.CapacityInBytes, c.disks[i].Capacity)
		}
		if d.UnitNumber == nil || *d.UnitNumber != int32(c.cfg.resolved().controller.Units[i]) {
			t.Errorf("disk %d unit %v; want %d", i, d.UnitNumber, c.cfg.resolved().controller.Units[i])
		}
	}
}

// The descriptor reads back with this repo's OVF reader, is well-formed
// for libxml2, and every target's rules apply to it; the VirtualBox and
// portable results pass VirtualBox's import rules.
func TestGeneratedOVFThroughEveryTarget(t *testing.T) {
	for _, c := range genCases() {
		t.Run(c.name, func(t *testing.T) {
			out := generate(t, c)
			d, err := ovf.Parse(out)
			if err != nil {
				t.Fatalf("ovf.Parse: %v", err)
			}
			if n := len(d.Files()); n != len(c.disks) {
				t.Errorf("ovf.Parse sees %d files; want %d", n, len(c.disks))
			}
			var hrefs []string
			for _, dk := range c.disks {
				hrefs = append(hrefs, dk.Href)
			}
			for _, target := range []ovftarget.Target{ovftarget.VSphere, ovftarget.Workstation, ovftarget.VirtualBox, ovftarget.Portable} {
				r, err := ovftarget.Customize(out, target, &ovftarget.Customization{})
				if err != nil {
					t.Errorf("Customize %s: %v", target, err)
					continue
				}
				if target == ovftarget.VSphere && !bytes.Equal(r.Descriptor, out) {
					t.Errorf("target vsphere changed the generated descriptor")
				}
				if len(r.Dropped) != 0 {
					t.Errorf("%s dropped %v", target, r.Dropped)
				}
				if target == ovftarget.VirtualBox || target == ovftarget.Portable {
					if err := ovftest.CheckVirtualBox(r.Descriptor, hrefs, ovftest.VirtualBoxCurrent); err != nil {
						t.Errorf("%s: VirtualBox rules: %v", target, err)
					}
				}
			}
		})
	}
}

// The descriptor options of ovftarget (product, annotation, EULA, vApp
// properties, hardware version) land in the generated OVF where importers
// read them.
func TestGeneratedOVFTakesDescriptorOptions(t *testing.T) {
	opts := &ovftarget.Customization{
		Product:             ovftarget.Product{Name: "Acme Appliance", Vendor: "Acme", Version: "1.0"},
		Annotation:          "built by Packer",
		EULA:                "be nice",
		CloudInitProperties: true,
		Properties:          []ovftarget.Property{{Key: "ip0", Label: "IP address"}},
		HardwareVersion:     "vmx-19",
	}
	if errs := opts.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, c := range genCases() {
		out := generate(t, c)
		for _, target := range []ovftarget.Target{ovftarget.VSphere, ovftarget.Workstation, ovftarget.VirtualBox, ovftarget.Portable} {
			r, err := ovftarget.Customize(out, target, opts)
			if err != nil {
				t.Errorf("%s/%s: Customize: %v", c.name, target, err)
				continue
			}
			env, err := govmomiovf.Unmarshal(bytes.NewReader(r.Descriptor))
			if err != nil {
				t.Fatalf("%s/%s: Unmarshal: %v", c.name, target, err)
			}
			vs := env.VirtualSystem
			if len(vs.Product) != 1 || vs.Product[0].Product != "Acme Appliance" || len(vs.Product[0].Property) < 2 ||
				vs.Annotation == nil || vs.Annotation.Annotation != "built by Packer" || len(vs.Eula) != 1 {
				t.Errorf("%s/%s: product %+v annotation %+v eula %d", c.name, target, vs.Product, vs.Annotation, len(vs.Eula))
			}
			if got := deref(vs.VirtualHardware[0].System.VirtualSystemType); got != "vmx-19" {
				t.Errorf("%s/%s: VirtualSystemType %s; want vmx-19", c.name, target, got)
			}
		}
	}
}

func TestXMLLintWellFormed(t *testing.T) {
	xmllint := testenv.LookPath(t, "xmllint")
	dir := t.TempDir()
	for _, c := range genCases() {
		p := filepath.Join(dir, c.name+".ovf")
		if err := os.WriteFile(p, generate(t, c), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", p).CombinedOutput(); err != nil {
			t.Errorf("%s: xmllint --noout: %v\n%s", c.name, err, out)
		}
	}
}
