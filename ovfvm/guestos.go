package ovfvm

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"
)

// guestOS is what OperatingSystemSection carries for a vSphere guest id:
// ovf:id (a CIM_OperatingSystem OSType, DMTF DSP1043 / CIM schema 2.x
// "OSType" value map), ovf:version and the Description vSphere writes.
type guestOS struct {
	id          string // vmw:osType
	cim         int    // ovf:id
	version     string // ovf:version, "" when vSphere writes none
	description string // "" when not known for certain
}

// CIM OSType values used below (DSP1043 / CIM_OperatingSystem.OSType; the
// same numbers as govmomi's ovf.CIMOSType constants).
const (
	cimOther         = 1
	cimLinux         = 36
	cimFreeBSD       = 42
	cimFreeBSD64     = 78
	cimRHEL          = 79
	cimRHEL64        = 80
	cimSLES          = 84
	cimSLES64        = 85
	cimUbuntu        = 93
	cimUbuntu64      = 94
	cimDebian        = 95
	cimDebian64      = 96
	cimLinux64       = 101
	cimOther64       = 102
	cimWin2008R2     = 103
	cimESXi          = 104
	cimCentOS        = 106
	cimCentOS64      = 107
	cimOracle        = 108
	cimOracle64      = 109
	cimWinServer2012 = 112
	cimWin8          = 113
	cimWin8_64       = 114
)

// guestTable holds the guest ids whose OperatingSystemSection we write
// exactly as vSphere's export does. Sources, per entry:
//   - E: a real vCenter export: the Bitnami LAMP OVA exported by vCenter 8
//     (build-21560480, "ovf:id=96 ovf:version=10 vmw:osType=debian10_64Guest
//     Debian GNU/Linux 10 (64-bit)") and VMware's OVF test data in govmomi
//     v0.56.0 ovf/fixtures/external, vCenter and ovftool exports, some of
//     them trimmed by hand (counts there: ubuntu64Guest 94 x10,
//     ubuntuGuest 93 x99, windows7Server64Guest 103 x35, windows9_64Guest 114
//     x7, windows9Guest 113 x5, windows8Guest 113 x9, windows8_64Guest 114,
//     windows8Server64Guest 112, windows9Server64Guest 112 x3,
//     windows2019srv_64Guest 112 x4 "Microsoft Windows Server 2019
//     (64-bit)", centos8_64Guest 107 version 8 "CentOS 8 (64-bit)",
//     rhel7Guest 79 version 7, sles11_64Guest 85 version 11,
//     vmkernel8Guest 104 version 8, otherGuest 1 x73).
//   - G: govmomi v0.56.0 ovf/cim.go, cimGuestIDTable and
//     GuestIDToCIMOSType (VMware's mapping, read in both directions).
//   - R: the rule vSphere applies to the Windows releases before it
//     (newer releases keep the newest CIM id of their line: desktop 114,
//     server 112), for ids no export we have shows.
//
// Versioned families (debianN, rhelN, ...) are matched by familyRules.
var guestTable = map[string]guestOS{
	"otherGuest":                 {cim: cimOther, description: "Other (32-bit)"},                                 // E, G
	"otherGuest64":               {cim: cimOther64, description: "Other (64-bit)"},                               // G
	"otherLinuxGuest":            {cim: cimLinux, description: "Other Linux (32-bit)"},                           // G
	"otherLinux64Guest":          {cim: cimLinux64, description: "Other Linux (64-bit)"},                         // G
	"other3xLinuxGuest":          {cim: cimLinux, description: "Other 3.x Linux (32-bit)"},                       // G
	"other3xLinux64Guest":        {cim: cimLinux64, description: "Other 3.x Linux (64-bit)"},                     // E (x9), G
	"other4xLinuxGuest":          {cim: cimLinux, description: "Other 4.x Linux (32-bit)"},                       // G
	"other4xLinux64Guest":        {cim: cimLinux64, description: "Other 4.x Linux (64-bit)"},                     // G
	"other5xLinuxGuest":          {cim: cimLinux},                                                                // G
	"other5xLinux64Guest":        {cim: cimLinux64},                                                              // G
	"other6xLinuxGuest":          {cim: cimLinux},                                                                // G
	"other6xLinux64Guest":        {cim: cimLinux64},                                                              // G
	"other7xLinuxGuest":          {cim: cimLinux},                                                                // G (Linux family)
	"other7xLinux64Guest":        {cim: cimLinux64},                                                              // G (Linux family)
	"ubuntuGuest":                {cim: cimUbuntu, description: "Ubuntu Linux (32-bit)"},                         // E, G
	"ubuntu64Guest":              {cim: cimUbuntu64, description: "Ubuntu Linux (64-bit)"},                       // E, G
	"centosGuest":                {cim: cimCentOS},                                                               // G
	"centos64Guest":              {cim: cimCentOS64},                                                             // G
	"oracleLinuxGuest":           {cim: cimOracle},                                                               // G
	"oracleLinux64Guest":         {cim: cimOracle64},                                                             // G
	"rockylinux_64Guest":         {cim: cimLinux64, description: "Rocky Linux (64-bit)"},                         // G
	"almalinux_64Guest":          {cim: cimLinux64, description: "AlmaLinux (64-bit)"},                           // G (Linux family)
	"fedoraGuest":                {cim: cimLinux, description: "Red Hat Fedora (32-bit)"},                        // G
	"fedora64Guest":              {cim: cimLinux64, description: "Red Hat Fedora (64-bit)"},                      // G
	"coreos64Guest":              {cim: cimLinux64},                                                              // G
	"vmwarePhoton64Guest":        {cim: cimLinux64, description: "VMware Photon OS (64-bit)"},                    // G
	"amazonlinux2_64Guest":       {cim: cimLinux64, description: "Amazon Linux 2 (64-bit)"},                      // G
	"amazonlinux3_64Guest":       {cim: cimLinux64},                                                              // G
	"sles64Guest":                {cim: cimSLES64},                                                               // G
	"freebsd64Guest":             {cim: cimFreeBSD64},                                                            // G
	"freebsdGuest":               {cim: cimFreeBSD},                                                              // G
	"windows7Server64Guest":      {cim: cimWin2008R2, description: "Microsoft Windows Server 2008 R2 (64-bit)"},  // E (x35), G
	"windows8Guest":              {cim: cimWin8},                                                                 // E
	"windows8_64Guest":           {cim: cimWin8_64},                                                              // E
	"windows8Server64Guest":      {cim: cimWinServer2012, description: "Microsoft Windows Server 2012 (64-bit)"}, // E, G
	"windows9Guest":              {cim: cimWin8, description: "Microsoft Windows 10 (32-bit)"},                   // E
	"windows9_64Guest":           {cim: cimWin8_64, description: "Microsoft Windows 10 (64-bit)"},                // E
	"windows9Server64Guest":      {cim: cimWinServer2012},                                                        // E
	"windows11_64Guest":          {cim: cimWin8_64, description: "Microsoft Windows 11 (64-bit)"},                // R
	"windows12_64Guest":          {cim: cimWin8_64},                                                              // R
	"windows2019srv_64Guest":     {cim: cimWinServer2012, description: "Microsoft Windows Server 2019 (64-bit)"}, // E
	"windows2019srvNext_64Guest": {cim: cimWinServer2012, description: "Microsoft Windows Server 2022 (64-bit)"}, // R
	"windows2022srvNext_64Guest": {cim: cimWinServer2012, description: "Microsoft Windows Server 2025 (64-bit)"}, // R
}

// familyRules cover versioned guest ids: vSphere writes the family's CIM
// id and the release as ovf:version (E: debian10_64Guest 96 "10",
// centos8_64Guest 107 "8", rhel7Guest 79 "7", sles11_64Guest 85 "11",
// vmkernel8Guest 104 "8"; G: the same pairs for every release in
// cimGuestIDTable).
var familyRules = []struct {
	re           *regexp.Regexp
	cim32, cim64 int
	describe     func(version string, bits string) string
}{
	{regexp.MustCompile(`^debian([0-9]+)(_64)?Guest$`), cimDebian, cimDebian64,
		func(v, b string) string { return fmt.Sprintf("Debian GNU/Linux %s (%s)", v, b) }},
	{regexp.MustCompile(`^rhel([0-9]+)(_64)?Guest$`), cimRHEL, cimRHEL64,
		func(v, b string) string { return fmt.Sprintf("Red Hat Enterprise Linux %s (%s)", v, b) }},
	// CentOS 9 and later are "CentOS Stream": no description.
	{regexp.MustCompile(`^centos([0-9]+)(_64)?Guest$`), cimCentOS, cimCentOS64, nil},
	{regexp.MustCompile(`^oracleLinux([0-9]+)(_64)?Guest$`), cimOracle, cimOracle64,
		func(v, b string) string { return fmt.Sprintf("Oracle Linux %s (%s)", v, b) }},
	{regexp.MustCompile(`^sles([0-9]+)(_64)?Guest$`), cimSLES, cimSLES64,
		func(v, b string) string { return fmt.Sprintf("SUSE Linux Enterprise %s (%s)", v, b) }},
	{regexp.MustCompile(`^freebsd([0-9]+)(_64)?Guest$`), cimFreeBSD, cimFreeBSD64, nil},
	{regexp.MustCompile(`^vmkernel([0-9]*)Guest$`), cimESXi, cimESXi, nil},
}

// knownGuests is every guest id vSphere's API defines (govmomi's
// VirtualMachineGuestOsIdentifier, vSphere 9.0 API).
var knownGuests = func() map[string]bool {
	m := map[string]bool{}
	for _, g := range types.VirtualMachineGuestOsIdentifier("").Values() {
		m[string(g)] = true
	}
	return m
}()

// lookupGuest returns what to write for a vSphere guest id, or an error
// saying what the id should look like.
func lookupGuest(id string) (guestOS, error) {
	if !knownGuests[id] {
		return guestOS{}, unknownGuest(id)
	}
	if g, ok := guestTable[id]; ok {
		g.id = id
		return g, nil
	}
	for _, r := range familyRules {
		m := r.re.FindStringSubmatch(id)
		if m == nil {
			continue
		}
		g := guestOS{id: id, cim: r.cim32, version: m[1]}
		bits := "32-bit"
		if len(m) > 2 && m[2] != "" {
			g.cim, bits = r.cim64, "64-bit"
		}
		if r.describe != nil {
			g.description = r.describe(m[1], bits)
		}
		if r.cim32 == cimESXi && m[1] == "" {
			g.version = "4" // vmkernelGuest is ESX 4 (cimGuestIDTable)
		}
		return g, nil
	}
	// Everything else: VMware's own mapping (govmomi), first the pairs its
	// CIM-to-guest table names exactly, then its guest-to-CIM switch, then
	// the generic CIM type.
	if p, ok := govmomiPairs[id]; ok {
		p.id = id
		return p, nil
	}
	if n := int(govmomiovf.GuestIDToCIMOSType(id)); n > 0 {
		return guestOS{id: id, cim: n}, nil
	}
	return guestOS{id: id, cim: genericCIM(id)}, nil
}

// govmomiPairs inverts govmomi's CIMOSTypeToGuestID (its cimGuestIDTable):
// for each guest id, the CIM id and version that map exactly to it. A
// version is kept only where the bare CIM id maps to another guest.
var govmomiPairs = func() map[string]guestOS {
	versions := []string{""}
	for v := 1; v <= 30; v++ {
		versions = append(versions, strconv.Itoa(v))
	}
	versions = append(versions, "65")
	m := map[string]guestOS{}
	for cim := 1; cim <= 200; cim++ {
		bare := string(govmomiovf.CIMOSTypeToGuestID(govmomiovf.CIMOSType(cim), ""))
		for _, v := range versions {
			g := string(govmomiovf.CIMOSTypeToGuestID(govmomiovf.CIMOSType(cim), v))
			if g == "" || (v != "" && g == bare) {
				continue
			}
			if _, seen := m[g]; !seen {
				m[g] = guestOS{cim: cim, version: v}
			}
		}
	}
	return m
}()

// genericCIM is CIM's catch-all for ids neither table knows: Linux or
// Other, 32 or 64 bit (the values cimOSType in ovftarget writes too).
func genericCIM(id string) int {
	l := strings.ToLower(id)
	linux := strings.Contains(l, "linux") || strings.Contains(l, "fusionos")
	b64 := strings.Contains(l, "64")
	switch {
	case linux && b64:
		return cimLinux64
	case linux:
		return cimLinux
	case b64:
		return cimOther64
	}
	return cimOther
}

func unknownGuest(id string) error {
	for k := range knownGuests {
		if strings.EqualFold(k, id) {
			return fmt.Errorf("%q is not a vSphere guest id (they are case-sensitive); did you mean %q?", id, k)
		}
	}
	if g, ok := vmxGuestToVSphere(id); ok {
		return fmt.Errorf("%q is a VMware Workstation (.vmx) guestOS name; the vSphere guest id is %q", id, g)
	}
	return fmt.Errorf("%q is not a vSphere guest id; use one of vSphere's VirtualMachineGuestOsIdentifier values, such as %q, %q, %q, %q or %q",
		id, "otherLinux64Guest", "debian12_64Guest", "ubuntu64Guest", "rhel9_64Guest", "windows2019srv_64Guest")
}

// vmxGuestToVSphere maps a .vmx guestOS value (Workstation's names:
// "ubuntu-64", "debian12-64", "otherlinux-64", "windows9srv-64") to the
// vSphere guest id. The names differ in case, in "-64" for "_64"/"64",
// and in a few Windows server names.
func vmxGuestToVSphere(s string) (string, bool) {
	l := strings.ToLower(strings.TrimSpace(s))
	if l == "" {
		return "", false
	}
	if g, ok := vmxGuestExceptions[l]; ok {
		return g, true
	}
	base, b64 := strings.CutSuffix(l, "-64")
	var candidates []string
	if b64 {
		candidates = []string{base + "_64guest", base + "64guest", base + "guest64"}
	} else {
		candidates = []string{base + "guest"}
	}
	for _, c := range candidates {
		for k := range knownGuests {
			if strings.ToLower(k) == c {
				return k, true
			}
		}
	}
	return "", false
}

// vmxGuestExceptions are the Workstation guestOS names that the
// case-and-suffix rule does not turn into vSphere ids (Workstation's
// guestOS list vs vSphere's VirtualMachineGuestOsIdentifier).
var vmxGuestExceptions = map[string]string{
	"windows7srv-64":    "windows7Server64Guest",
	"windows8srv-64":    "windows8Server64Guest",
	"windows9srv-64":    "windows9Server64Guest",
	"longhorn":          "winLonghornGuest",
	"longhorn-64":       "winLonghorn64Guest",
	"winnetstandard":    "winNetStandardGuest",
	"winnetstandard-64": "winNetStandard64Guest",
	"other":             "otherGuest",
	"other-64":          "otherGuest64",
}

// CIMOSType returns the numeric OVF operating system id (CIM OSType) and
// ovf:version written for a vSphere guest id.
func CIMOSType(guestID string) (id int, version string, err error) {
	g, err := lookupGuest(guestID)
	if err != nil {
		return 0, "", err
	}
	return g.cim, g.version, nil
}
