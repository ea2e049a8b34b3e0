package ovfvm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// vmwareISOVMX is shaped like the .vmx Packer's vmware-iso builder writes
// (its default template plus cpus, cores, memory, firmware and a second
// NIC from vmx_data), with Workstation's spellings.
const vmwareISOVMX = `.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "web |22prod|22 |7C 1"
guestOS = "debian12-64"
numvcpus = "4"
cpuid.coresPerSocket = "2"
memsize = "4096"
firmware = "efi"
uefi.secureBoot.enabled = "TRUE"
nvram = "web.nvram"
# the boot disk and a data disk on the PVSCSI bus
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "disk.vmdk"
scsi0:1.present = "TRUE"
scsi0:1.fileName = "disk-1.vmdk"
scsi0:2.present = "FALSE"
scsi0:2.fileName = "old.vmdk"
ide1:0.present = "TRUE"
ide1:0.fileName = "/isos/debian.iso"
ide1:0.deviceType = "cdrom-image"
sata0.present = "TRUE"
sata0:1.present = "TRUE"
sata0:1.deviceType = "cdrom-raw"
sata0:1.fileName = "auto detect"
ethernet0.present = "TRUE"
ethernet0.connectionType = "nat"
ethernet0.virtualDev = "e1000"
ethernet1.present = "TRUE"
ethernet1.virtualDev = "vmxnet3"
ethernet1.networkName = "Storage"
ethernet2.present = "FALSE"
ethernet2.virtualDev = "e1000e"
vmci0.present = "TRUE"
`

func TestParseVMX(t *testing.T) {
	v, err := ParseVMX([]byte(vmwareISOVMX))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := v.Get("DISPLAYNAME"); s != `web "prod" | 1` {
		t.Errorf("displayName = %q; |22 and |7C decode to '\"' and '|'", s)
	}
	if on, ok := v.Bool("uefi.secureboot.enabled"); !on || !ok {
		t.Errorf("uefi.secureBoot.enabled = %v %v", on, ok)
	}
	if n, ok, err := v.Int("numvcpus"); n != 4 || !ok || err != nil {
		t.Errorf("numvcpus = %d %v %v", n, ok, err)
	}
	if _, ok := v.Get("absent"); ok {
		t.Error("absent key found")
	}
	got := v.hardDisks()
	if len(got) != 2 || got[0].fileName != "disk.vmdk" || got[1].fileName != "disk-1.vmdk" || got[1].slot() != "scsi0:1" {
		t.Errorf("hard disks %+v; want disk.vmdk, disk-1.vmdk on scsi0:0 and scsi0:1 (not the ISO, the CD-ROM or the absent disk)", got)
	}
	// The last of a repeated key wins; bare values and comments work.
	v, err = ParseVMX([]byte("memsize = \"1024\"\nmemsize = 2048 # later\n\n  # indented comment\nkey.x=\"\"\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _, _ := v.Int("memsize"); n != 2048 {
		t.Errorf("memsize = %d; want the last value", n)
	}
	if keys := v.Keys(); len(keys) != 2 || keys[0] != "memsize" {
		t.Errorf("keys %v", keys)
	}
}

func TestParseVMXErrorsSayWhere(t *testing.T) {
	cases := map[string]string{
		"a = \"1\"\nno equals sign\n":             "line 2",
		"a = \"unterminated\n":                    "line 1 (a): value has no closing quote",
		"a = \"1\" trailing\n":                    `unexpected "trailing"`,
		" = \"1\"\n":                              "line 1: bad key",
		"numvcpus = \"four\"\n":                   "", // parses; Int reports it
		"bad key = \"1\"\n":                       "bad key",
		"x = \"" + strings.Repeat("a", 10) + "\"": "",
	}
	for in, want := range cases {
		_, err := ParseVMX([]byte(in))
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", in, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v; want %q", in, err, want)
		}
	}
	v, _ := ParseVMX([]byte("numvcpus = \"four\"\n"))
	if _, ok, err := v.Int("numvcpus"); !ok || err == nil || !strings.Contains(err.Error(), `numvcpus = "four" is not a number`) {
		t.Errorf("Int: %v", err)
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.vmx")
	if err := os.WriteFile(big, make([]byte, maxVMXSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadVMX(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("ReadVMX of a huge file: %v", err)
	}
}

// The .vmx supplies every option the vm block leaves unset, and options
// the user set win.
func TestMergeVMX(t *testing.T) {
	v, err := ParseVMX([]byte(vmwareISOVMX))
	if err != nil {
		t.Fatal(err)
	}
	v.Path = "/out/web.vmx"
	var c Config
	notes := c.mergeVMX(v)
	if c.Name != `web "prod" | 1` || c.CPUs != 4 || c.CoresPerSocket != 2 || c.Memory != 4096 || c.Firmware != "efi-secure" ||
		c.OSType != "debian12_64Guest" || c.HardwareVersion != "vmx-19" || c.DiskController() != "pvscsi" {
		t.Errorf("merged %+v", c)
	}
	wantNets := []NetworkAdapter{{NetworkCard: "e1000e"}, {Network: "Storage", NetworkCard: "vmxnet3"}}
	if len(c.Networks) != 2 || c.Networks[0] != wantNets[0] || c.Networks[1] != wantNets[1] {
		t.Errorf("networks %+v; want %+v", c.Networks, wantNets)
	}
	joined := strings.Join(notes, "\n")
	for _, w := range []string{"CPUs = 4 (from numvcpus in web.vmx)", `guest_os_type = "debian12_64Guest" (from guestOS "debian12-64"`, "ethernet0.virtualDev e1000 became e1000e"} {
		if !strings.Contains(joined, w) {
			t.Errorf("notes lack %q:\n%s", w, joined)
		}
	}
	if errs := c.Prepare(); len(errs) > 0 {
		t.Errorf("merged config does not pass Prepare: %v", errs)
	}

	user := Config{Name: "mine", CPUs: 2, Memory: 1024, Firmware: "bios", DiskControllerType: []string{"sata"}, Networks: []NetworkAdapter{{Network: "X"}}}
	user.mergeVMX(v)
	if user.Name != "mine" || user.CPUs != 2 || user.Memory != 1024 || user.Firmware != "bios" || user.DiskController() != "sata" ||
		len(user.Networks) != 1 || user.Networks[0].Network != "X" {
		t.Errorf("user options were overridden: %+v", user)
	}
	// Secure Boot from the .vmx does not come along onto a BIOS VM, and
	// cpu_cores 2 still divides 2 CPUs.
	if user.Firmware != "bios" || user.CoresPerSocket != 2 {
		t.Errorf("firmware %q cores %d", user.Firmware, user.CoresPerSocket)
	}
	if errs := user.Prepare(); len(errs) > 0 {
		t.Errorf("merged user config does not pass Prepare: %v", errs)
	}
}

func TestMergeVMXCarefulDefaults(t *testing.T) {
	cases := []struct {
		vmx   string
		check func(c Config) bool
		note  string
	}{
		{"memsize = \"1002\"\n", func(c Config) bool { return c.Memory == 0 }, "memsize: 1002 MiB is not a multiple of 4"},
		{"guestOS = \"arm-other\"\n", func(c Config) bool { return c.OSType == "" }, `guestOS "arm-other" has no vSphere guest id`},
		{"numvcpus = \"3\"\ncpuid.coresPerSocket = \"2\"\n", func(c Config) bool { return c.CPUs == 3 && c.CoresPerSocket == 0 }, "does not divide CPUs (3)"},
		{"scsi0.virtualDev = \"lsisas1068\"\nscsi0:0.fileName = \"a.vmdk\"\n", func(c Config) bool { return c.DiskController() == "" }, `"lsisas1068" is not offered`},
		{"ide0:0.fileName = \"a.vmdk\"\n", func(c Config) bool { return c.DiskController() == "sata" }, "IDE"},
		{"nvme0:0.fileName = \"a.vmdk\"\n", func(c Config) bool { return c.DiskController() == "nvme" }, `disk_controller_type = "nvme"`},
		// vmx-10 from the .vmx is raised for the NVMe disk it attaches.
		{"virtualHW.version = \"10\"\nnvme0:0.fileName = \"a.vmdk\"\n", func(c Config) bool { return c.HardwareVersion == "vmx-13" }, "wrote vmx-13"},
		{"ethernet0.present = \"TRUE\"\nethernet0.addressType = \"static\"\nethernet0.address = \"00:50:56:0A:0B:0C\"\n", func(c Config) bool { return c.Networks[0].MACAddress == "00:50:56:0a:0b:0c" }, "network_adapters: 1 adapter(s)"},
		{"ethernet0.present = \"TRUE\"\nethernet0.addressType = \"generated\"\nethernet0.generatedAddress = \"00:0c:29:0a:0b:0c\"\n", func(c Config) bool { return c.Networks[0].MACAddress == "" }, "network_adapters: 1 adapter(s)"},
		{"ethernet0.present = \"TRUE\"\nethernet0.addressType = \"static\"\nethernet0.address = \"01:00:5e:00:00:01\"\n", func(c Config) bool { return c.Networks[0].MACAddress == "" }, "not a usable static MAC address"},
		{"ethernet0.present = \"TRUE\"\nethernet0.virtualDev = \"vlance\"\n", func(c Config) bool { return c.Networks[0].NetworkCard == "" }, `"vlance" is not offered`},
	}
	for _, tc := range cases {
		v, err := ParseVMX([]byte(tc.vmx))
		if err != nil {
			t.Fatal(err)
		}
		var c Config
		notes := strings.Join(c.mergeVMX(v), "\n")
		if !tc.check(c) {
			t.Errorf("%q: merged %+v", tc.vmx, c)
		}
		if !strings.Contains(notes, tc.note) {
			t.Errorf("%q: notes lack %q:\n%s", tc.vmx, tc.note, notes)
		}
		if errs := c.Prepare(); len(errs) > 0 {
			t.Errorf("%q: merged config fails Prepare: %v", tc.vmx, errs)
		}
	}
}
