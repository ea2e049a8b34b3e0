package ovfvm

import (
	"strings"
	"testing"
)

func TestPrepareAcceptsValidConfigs(t *testing.T) {
	for _, c := range genCases() {
		cfg := c.cfg
		if errs := cfg.Prepare(); len(errs) > 0 {
			t.Errorf("%s: %v", c.name, errs)
		}
	}
	var empty Config
	if errs := empty.Prepare(); len(errs) > 0 {
		t.Errorf("empty vm block: %v", errs)
	}
}

// Each bad value gives one error that names the option (as the user
// writes it, vm.<option>) and says what it takes.
func TestPrepareErrorsNameTheOption(t *testing.T) {
	cases := []struct {
		cfg  Config
		want []string
	}{
		{Config{CPUs: -1}, []string{"vm.CPUs", "1 to 768"}},
		{Config{CPUs: 1000}, []string{"vm.CPUs", "1 to 768"}},
		{Config{CPUs: 6, CoresPerSocket: 4}, []string{"vm.cpu_cores", "not a multiple", "1, 2, 3, 6"}},
		{Config{CoresPerSocket: -2}, []string{"vm.cpu_cores", "negative"}},
		{Config{Memory: 1001}, []string{"vm.RAM", "multiple of 4", "1000 or 1004"}},
		{Config{Memory: 2}, []string{"vm.RAM", "at least 4"}},
		{Config{Memory: MaxMemory + 4}, []string{"vm.RAM", "maximum"}},
		{Config{Firmware: "uefi"}, []string{"vm.firmware", `"uefi"`, `"bios"`, `"efi"`, `"efi-secure"`}},
		{Config{OSType: "ubuntu-64"}, []string{"vm.guest_os_type", "Workstation", `"ubuntu64Guest"`}},
		{Config{OSType: "Debian12_64Guest"}, []string{"vm.guest_os_type", "case-sensitive", `"debian12_64Guest"`}},
		{Config{OSType: "linux"}, []string{"vm.guest_os_type", "not a vSphere guest id", "otherLinux64Guest"}},
		{Config{HardwareVersion: "vmx19"}, []string{"vm.vm_version", "vmx-N or N"}},
		{Config{HardwareVersion: "vmx-3"}, []string{"vm.vm_version", "below vmx-4"}},
		{Config{HardwareVersion: "vmx-11", DiskControllerType: []string{"nvme"}}, []string{"vm.vm_version", "vmx-11 is below vmx-13", "nvme"}},
		{Config{HardwareVersion: "vmx-12", Firmware: "efi-secure"}, []string{"vm.vm_version", "vmx-13", `firmware "efi-secure"`}},
		{Config{HardwareVersion: "vmx-09", DiskControllerType: []string{"sata"}}, []string{"vm.vm_version", "vmx-10", "sata"}},
		{Config{HardwareVersion: "vmx-07", Networks: []NetworkAdapter{{NetworkCard: "e1000e"}}}, []string{"vm.vm_version", "vmx-08", "network_adapters[0] network_card"}},
		{Config{DiskControllerType: []string{"ide"}}, []string{"vm.disk_controller_type", `"ide"`, `"pvscsi"`, `"nvme"`}},
		{Config{Networks: []NetworkAdapter{{}, {NetworkCard: "e1000"}}}, []string{"vm.network_adapters[1].network_card", `"e1000"`, `"vmxnet3"`, `"e1000e"`}},
		{Config{Networks: make([]NetworkAdapter, 11)}, []string{"vm.network_adapters", "at most 10"}},
		{Config{Networks: []NetworkAdapter{{Network: "bad\x01name"}}}, []string{"vm.network_adapters[0].network", "control character"}},
		{Config{Name: " padded"}, []string{"vm.name", "white space"}},
		{Config{Name: "a\nb"}, []string{"vm.name", "control character"}},
		{Config{Name: "\xff"}, []string{"vm.name", "UTF-8"}},
		{Config{DiskControllerType: []string{"sata", "nvme"}}, []string{"vm.disk_controller_type", "2 controllers", `["pvscsi"]`}},
		{Config{Networks: []NetworkAdapter{{MACAddress: "00:50:56:zz:00:01"}}}, []string{"vm.network_adapters[0].mac_address", "not a MAC address"}},
		{Config{Networks: []NetworkAdapter{{MACAddress: "01:00:5e:00:00:01"}}}, []string{"vm.network_adapters[0].mac_address", "multicast"}},
		{Config{Networks: []NetworkAdapter{{MACAddress: "00:00:00:00:00:00"}}}, []string{"vm.network_adapters[0].mac_address", "all zeros"}},
		{Config{Networks: []NetworkAdapter{{MACAddress: "00:50:56:00:00:01"}, {MACAddress: "00-50-56-00-00-01"}}}, []string{"vm.network_adapters[1].mac_address", "also network_adapters[0]"}},
		{Config{Disks: []string{"a", ""}}, []string{"vm.disks[1]", "empty"}},
		{Config{Disks: []string{"a", "a"}}, []string{"vm.disks[1]", "also disks[0]"}},
	}
	for _, c := range cases {
		cfg := c.cfg
		errs := cfg.Prepare()
		if len(errs) != 1 {
			t.Errorf("%+v: %d errors %v; want 1", c.cfg, len(errs), errs)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(errs[0].Error(), w) {
				t.Errorf("%+v: error %q lacks %q", c.cfg, errs[0], w)
			}
		}
	}
}

func TestDefaults(t *testing.T) {
	c := Config{Name: "x"}
	v := c.resolved()
	if v.cpus != 2 || v.cores != 1 || v.memory != 2048 || v.firmware != "bios" || v.secureBoot ||
		v.guest.id != "otherLinux64Guest" || v.hwVersion != 14 || v.controllerName != "pvscsi" ||
		len(v.networks) != 1 || v.networks[0] != (NetworkAdapter{Network: "VM Network", NetworkCard: "vmxnet3"}) {
		t.Errorf("defaults: %+v", v)
	}
	// efi-secure is EFI with Secure Boot.
	c.Firmware = "EFI-Secure"
	if errs := c.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if v := c.resolved(); v.firmware != "efi" || !v.secureBoot {
		t.Errorf("efi-secure: firmware %q, secure boot %v", v.firmware, v.secureBoot)
	}
	if s := (&Config{Name: "x", Firmware: "efi-secure"}).Summary(); !strings.Contains(s, "EFI with Secure Boot") || !strings.Contains(s, "vmx-14") {
		t.Errorf("Summary: %s", s)
	}
}

func TestGenerateRefusesBadDisks(t *testing.T) {
	good := Disk{Href: "a.vmdk", Size: 1, Capacity: 512}
	cases := []struct {
		cfg   Config
		disks []Disk
		want  string
	}{
		{Config{Name: "x"}, nil, "no disks"},
		{Config{}, []Disk{good}, "vm.name"},
		{Config{Name: "x"}, []Disk{{Href: "../a.vmdk", Size: 1, Capacity: 512}}, "path separator"},
		{Config{Name: "x"}, []Disk{good, good}, "both named"},
		{Config{Name: "x"}, []Disk{{Href: "a.vmdk", Size: 0, Capacity: 512}}, "file size"},
		{Config{Name: "x"}, []Disk{{Href: "a.vmdk", Size: 1, Capacity: 1000}}, "multiple of 512"},
		{Config{Name: "x"}, []Disk{{Href: "a.vmdk", Size: 1, Capacity: 512, PopulatedSize: 1024}}, "populated size"},
		{Config{Name: "x", DiskControllerType: []string{"nvme"}}, manyDisks(16), "do not fit"},
		{Config{Name: "x", Firmware: "nope"}, []Disk{good}, "vm.firmware"},
	}
	for _, c := range cases {
		cfg := c.cfg
		_, err := Generate(&cfg, c.disks)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v %d disks: error %v; want one containing %q", c.cfg, len(c.disks), err, c.want)
		}
	}
	// SCSI takes 15 disks and skips unit 7, which the controller holds.
	cfg := Config{Name: "x"}
	out, err := Generate(&cfg, manyDisks(15))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "<rasd:AddressOnParent>7</rasd:AddressOnParent>\n        <rasd:ElementName>Hard disk") {
		t.Error("a SCSI disk was put on unit 7")
	}
	if !strings.Contains(string(out), "<rasd:AddressOnParent>15</rasd:AddressOnParent>\n        <rasd:ElementName>Hard disk 15") {
		t.Error("the 15th SCSI disk is not on unit 15")
	}
}

func manyDisks(n int) []Disk {
	var d []Disk
	for i := 0; i < n; i++ {
		d = append(d, Disk{Href: DiskHref("x", i), Size: 1, Capacity: 512})
	}
	return d
}

func TestDiskHref(t *testing.T) {
	if got := DiskHref("my/vm:1", 2); got != "my_vm_1-disk-2.vmdk" {
		t.Errorf("DiskHref = %q", got)
	}
}
