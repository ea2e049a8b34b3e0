package hardware

import (
	"strings"
	"testing"
)

// TestVersions: the lowest versions the catalog gives, as VMware KB 1003746
// lists them; a changed number must be a deliberate edit here too.
func TestVersions(t *testing.T) {
	cases := []struct {
		rt   int
		sub  string
		want int
	}{
		{TypeSCSIHBA, "VirtualSCSI", 7},
		{TypeSCSIHBA, "lsilogicsas", 7},
		{TypeOtherStorage, "vmware.sata.ahci", 10},
		{TypeOtherStorage, "VMWARE.NVME.CONTROLLER", 13},
		{TypeEthernet, "VmxNet3", 7},
		{TypeEthernet, "E1000e", 8},
		{TypeUSBController, "vmware.usb.xhci", 8},
	}
	for _, c := range cases {
		got, what, ok := ItemNeed(c.rt, c.sub)
		if !ok || got != c.want || what == "" {
			t.Errorf("ItemNeed(%d, %q) = %d %q %v, want %d", c.rt, c.sub, got, what, ok, c.want)
		}
	}
	for _, c := range []struct {
		rt  int
		sub string
	}{{TypeSCSIHBA, "lsilogic"}, {TypeIDEController, "PIIX4"}, {TypeEthernet, "E1000"}, {TypeOtherStorage, "VirtualSCSI"}, {TypeUSBController, "vmware.usb.ehci"}} {
		if v, _, ok := ItemNeed(c.rt, c.sub); ok {
			t.Errorf("ItemNeed(%d, %q) = %d: every version has it", c.rt, c.sub, v)
		}
	}
	needs := map[string]int{}
	for _, n := range ConfigNeeds {
		needs[n.Key+"="+n.Value] = n.MinVersion
	}
	for kv, want := range map[string]int{"firmware=efi": 8, "bootOptions.efiSecureBootEnabled=true": 13, "nestedHVEnabled=true": 9, "flags.vbsEnabled=true": 14} {
		if needs[kv] != want {
			t.Errorf("vmw:Config %s needs vmx-%d, want vmx-%d", kv, needs[kv], want)
		}
	}
}

// TestControllers: every controller is found by its name, its OVF subtype
// and its aliases, and ControllerForItem reads what an export writes.
func TestControllers(t *testing.T) {
	for _, c := range Controllers() {
		for _, n := range append([]string{c.Name, c.SubType, strings.ToUpper(c.SubType)}, c.aliases...) {
			if got, ok := LookupController(n); !ok || got.Name != c.Name {
				t.Errorf("LookupController(%q) = %q %v, want %q", n, got.Name, ok, c.Name)
			}
		}
		got, err := ControllerForItem(c.ResourceType, c.SubType)
		if err != nil || got.Name != c.Name {
			t.Errorf("ControllerForItem(%d, %q) = %q %v", c.ResourceType, c.SubType, got.Name, err)
		}
		if c.Name != IDE && len(c.Units) > 0 && c.Units[len(c.Units)-1] == 7 && c.ResourceType == TypeSCSIHBA {
			t.Errorf("%s: unit 7 is the SCSI controller's own", c.Name)
		}
	}
	if c, err := ControllerForItem(TypeSCSIHBA, ""); err != nil || c.Name != LSILogic {
		t.Errorf("SCSI item without subtype: %q %v", c.Name, err)
	}
	if c, err := ControllerForItem(TypeIDEController, "whatever"); err != nil || c.Name != IDE {
		t.Errorf("IDE item: %q %v", c.Name, err)
	}
	if _, err := ControllerForItem(TypeOtherStorage, "VirtualSCSI"); err == nil {
		t.Error("a SCSI subtype under ResourceType 20 accepted")
	}
	if _, err := ControllerForItem(TypeSCSIHBA, "bogus"); err == nil || !strings.Contains(err.Error(), `"bogus"`) {
		t.Errorf("unknown subtype: %v", err)
	}
	for name, want := range map[string]string{"pvscsi": "lsilogic", "sata": "ide", "ahci": "ide", "ide": "ide", "nvme": "lsilogic", "buslogic": "buslogic", "lsilogicsas": "lsilogic", "unknown": "lsilogic"} {
		if got := AdapterTypeFor(name); got != want {
			t.Errorf("AdapterTypeFor(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestNICs(t *testing.T) {
	for _, n := range NICs() {
		for _, s := range []string{n.Name, n.SubType, strings.ToUpper(n.Name)} {
			if got, ok := LookupNIC(s); !ok || got.Name != n.Name {
				t.Errorf("LookupNIC(%q) = %q %v", s, got.Name, ok)
			}
		}
	}
	if _, ok := LookupNIC("vlance"); ok {
		t.Error("vlance found")
	}
}

func TestParseVMX(t *testing.T) {
	for in, want := range map[string]int{"vmx-19": 19, "vmx-07": 7, " vmx-21 ": 21, "vmx-04": 4} {
		if got, err := ParseVMX(in); err != nil || got != want {
			t.Errorf("ParseVMX(%q) = %d %v, want %d", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{"vmx-3": "below vmx-4", "vmx19": "write vmx-N", "": "write vmx-N", "vmx-1234": "write vmx-N", "virtualbox-2.2": "write vmx-N"} {
		if _, err := ParseVMX(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseVMX(%q): %v, want %q", in, err, msg)
		}
	}
	if _, err := ParseVMX("19"); err == nil {
		t.Error(`ParseVMX("19") accepted: a VirtualSystemType names vmx-N only`)
	}
}

// TestParseVersion: options take vmx-N and N (an HCL number reaches a
// string option as "19").
func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int{"vmx-19": 19, "vmx-07": 7, " vmx-21 ": 21, "19": 19, "04": 4} {
		if got, err := ParseVersion(in); err != nil || got != want {
			t.Errorf("ParseVersion(%q) = %d %v, want %d", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{"vmx-3": "below vmx-4", "3": "below vmx-4", "vmx19": "write vmx-N", "": "write vmx-N", "vmx-1234": "write vmx-N", "virtualbox-2.2": "write vmx-N", "19.5": "write vmx-N"} {
		if _, err := ParseVersion(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseVersion(%q): %v, want %q", in, err, msg)
		}
	}
}

func TestVersionHelpers(t *testing.T) {
	if FormatVersion(7) != "vmx-07" || FormatVersion(21) != "vmx-21" {
		t.Errorf("FormatVersion: %s %s", FormatVersion(7), FormatVersion(21))
	}
	if got := HighestVersion("vmx-13 vmx-21,vmx-19 virtualbox-2.2"); got != 21 {
		t.Errorf("HighestVersion = %d", got)
	}
	if got := HighestVersion("virtualbox-2.2"); got != 0 {
		t.Errorf("HighestVersion without vmx = %d", got)
	}
}

func TestScaleBytes(t *testing.T) {
	for _, c := range []struct {
		n     int64
		units string
		want  int64
	}{
		{1, "byte", 1}, {2048, UnitsMiB, 2048 << 20}, {3, "byte * 2^30", 3 << 30}, {3, "byte*2^30", 3 << 30},
		{5, "byte * 2 ^ 10", 5 << 10}, {7, "MegaBytes", 7 << 20}, {7, "MB", 7 << 20}, {2, "GigaBytes", 2 << 30},
		{9, "KiloBytes", 9 << 10}, {4, "bytes", 4},
	} {
		if got, err := ScaleBytes(c.n, c.units); err != nil || got != c.want {
			t.Errorf("ScaleBytes(%d, %q) = %d %v, want %d", c.n, c.units, got, err, c.want)
		}
	}
	for _, c := range []struct {
		n     int64
		units string
		msg   string
	}{{1, "hertz * 10^6", `expected "byte * 2^N"`}, {1, "byte * 10^3", "expected"}, {1 << 40, "byte * 2^30", "out of range"}, {-1, "byte", "out of range"}, {1, "byte * 2^99", "out of range"}} {
		if _, err := ScaleBytes(c.n, c.units); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("ScaleBytes(%d, %q): %v, want %q", c.n, c.units, err, c.msg)
		}
	}
}
