package ovfvm

import (
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"
)

// What real vCenter exports write (sources in guestTable's comment).
func TestGuestIDsAsVCenterExportsThem(t *testing.T) {
	cases := []struct {
		id, version string
		cim         int
		description string
	}{
		{"debian10_64Guest", "10", 96, "Debian GNU/Linux 10 (64-bit)"},
		{"debian12_64Guest", "12", 96, "Debian GNU/Linux 12 (64-bit)"},
		{"ubuntu64Guest", "", 94, "Ubuntu Linux (64-bit)"},
		{"ubuntuGuest", "", 93, "Ubuntu Linux (32-bit)"},
		{"otherGuest", "", 1, "Other (32-bit)"},
		{"otherLinux64Guest", "", 101, "Other Linux (64-bit)"},
		{"other3xLinux64Guest", "", 101, "Other 3.x Linux (64-bit)"},
		{"centos8_64Guest", "8", 107, ""},
		{"rhel7Guest", "7", 79, "Red Hat Enterprise Linux 7 (32-bit)"},
		{"rhel9_64Guest", "9", 80, "Red Hat Enterprise Linux 9 (64-bit)"},
		{"sles11_64Guest", "11", 85, "SUSE Linux Enterprise 11 (64-bit)"},
		{"vmkernel8Guest", "8", 104, ""},
		{"vmkernel65Guest", "65", 104, ""},
		{"windows7Server64Guest", "", 103, "Microsoft Windows Server 2008 R2 (64-bit)"},
		{"windows9_64Guest", "", 114, "Microsoft Windows 10 (64-bit)"},
		{"windows9Guest", "", 113, "Microsoft Windows 10 (32-bit)"},
		{"windows9Server64Guest", "", 112, ""},
		{"windows2019srv_64Guest", "", 112, "Microsoft Windows Server 2019 (64-bit)"},
	}
	for _, c := range cases {
		g, err := lookupGuest(c.id)
		if err != nil {
			t.Errorf("%s: %v", c.id, err)
			continue
		}
		if g.cim != c.cim || g.version != c.version || g.description != c.description {
			t.Errorf("%s: ovf:id %d version %q description %q; want %d %q %q", c.id, g.cim, g.version, g.description, c.cim, c.version, c.description)
		}
	}
}

// Every guest id vSphere defines is accepted, and agrees with VMware's own
// mapping in govmomi: where govmomi's CIM-to-guest table names the guest
// exactly, our (ovf:id, ovf:version) maps back to it; where it does not,
// our ovf:id is govmomi's GuestIDToCIMOSType, except the Windows ids whose
// value we take from real vCenter exports (guestTable, E and R).
func TestEveryVSphereGuestIDAgreesWithGovmomi(t *testing.T) {
	fromExports := map[string]bool{
		"windows8_64Guest": true, "windows9Guest": true, "windows9_64Guest": true, "windows9Server64Guest": true,
		"windows11_64Guest": true, "windows12_64Guest": true, "windows2019srv_64Guest": true,
		"windows2019srvNext_64Guest": true, "windows2022srvNext_64Guest": true,
	}
	n := 0
	for _, id := range types.VirtualMachineGuestOsIdentifier("").Values() {
		g, err := lookupGuest(string(id))
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		n++
		if g.cim <= 0 {
			t.Errorf("%s: ovf:id %d", id, g.cim)
		}
		if fromExports[string(id)] {
			continue
		}
		if _, exact := govmomiPairs[string(id)]; exact {
			if back := govmomiovf.CIMOSTypeToGuestID(govmomiovf.CIMOSType(g.cim), g.version); string(back) != string(id) {
				t.Errorf("%s: we write ovf:id %d version %q, which govmomi reads as %q", id, g.cim, g.version, back)
			}
			continue
		}
		if want := int(govmomiovf.GuestIDToCIMOSType(id)); want > 0 && want != g.cim {
			t.Errorf("%s: ovf:id %d; govmomi's GuestIDToCIMOSType says %d", id, g.cim, want)
		}
	}
	if n < 200 {
		t.Errorf("only %d guest ids checked", n)
	}
	for id := range guestTable {
		if !knownGuests[id] {
			t.Errorf("guestTable has %q, which is not a vSphere guest id", id)
		}
	}
}

func TestVMXGuestNames(t *testing.T) {
	cases := map[string]string{
		"ubuntu-64":             "ubuntu64Guest",
		"debian12-64":           "debian12_64Guest",
		"otherlinux-64":         "otherLinux64Guest",
		"other5xlinux-64":       "other5xLinux64Guest",
		"rhel9-64":              "rhel9_64Guest",
		"centos-64":             "centos64Guest",
		"windows9-64":           "windows9_64Guest",
		"windows9srv-64":        "windows9Server64Guest",
		"windows2019srv-64":     "windows2019srv_64Guest",
		"windows2019srvnext-64": "windows2019srvNext_64Guest",
		"other":                 "otherGuest",
		"other-64":              "otherGuest64",
		"freebsd-64":            "freebsd64Guest",
		"vmkernel8":             "vmkernel8Guest",
		"winXPPro":              "winXPProGuest",
	}
	for in, want := range cases {
		got, ok := vmxGuestToVSphere(in)
		if !ok || got != want {
			t.Errorf("%s: %q %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "arm-ubuntu-64", "nonsense"} {
		if got, ok := vmxGuestToVSphere(bad); ok {
			t.Errorf("%q mapped to %q", bad, got)
		}
	}
}

func TestCIMOSType(t *testing.T) {
	id, v, err := CIMOSType("debian12_64Guest")
	if err != nil || id != 96 || v != "12" {
		t.Errorf("CIMOSType = %d %q %v", id, v, err)
	}
	if _, _, err := CIMOSType("debian12"); err == nil {
		t.Error("CIMOSType accepted an unknown id")
	}
}
