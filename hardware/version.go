package hardware

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Lowest hardware versions of VM-wide settings.
const (
	// MinVersion is the lowest family an OVF export names (vmx-4, ESX 3).
	MinVersion = 4
	// MinVersionEFI: EFI firmware came with ESXi 5.0.
	MinVersionEFI = 8
	// MinVersionNestedHV: nested hardware virtualization, ESXi 5.1.
	MinVersionNestedHV = 9
	// MinVersionSecureBoot: UEFI Secure Boot, ESXi 6.5.
	MinVersionSecureBoot = 13
	// MinVersionVBS: virtualization-based security, ESXi 6.7.
	MinVersionVBS = 14
	// MinVersionUSB3: the USB 3 (xHCI) controller, ESXi 5.0.
	MinVersionUSB3 = 8
)

// ConfigNeed is a vmw:Config setting (key=value, value compared
// case-insensitively) that needs a hardware version.
type ConfigNeed struct {
	Key, Value string
	MinVersion int
	What       string
}

// ConfigNeeds are the vmw:Config settings of a vSphere export that need a
// hardware version.
var ConfigNeeds = []ConfigNeed{
	{"firmware", "efi", MinVersionEFI, "EFI firmware"},
	{"bootOptions.efiSecureBootEnabled", "true", MinVersionSecureBoot, "UEFI Secure Boot"},
	{"nestedHVEnabled", "true", MinVersionNestedHV, "nested hardware virtualization"},
	{"flags.vbsEnabled", "true", MinVersionVBS, "virtualization-based security (VBS)"},
}

// ItemNeed returns the lowest hardware version with the device an OVF item
// of this ResourceType and subtype describes, and its name; ok is false for
// items every version has.
func ItemNeed(resourceType int, subtype string) (version int, what string, ok bool) {
	switch resourceType {
	case TypeSCSIHBA, TypeOtherStorage:
		if c, found := LookupController(subtype); found && c.ResourceType == resourceType {
			return c.MinVersion, c.What, c.MinVersion > MinVersion
		}
	case TypeEthernet:
		if n, found := LookupNIC(subtype); found {
			return n.MinVersion, n.What, n.MinVersion > MinVersion
		}
	case TypeUSBController:
		if strings.EqualFold(strings.TrimSpace(subtype), "vmware.usb.xhci") {
			return MinVersionUSB3, "USB 3 (xHCI) controller", true
		}
	}
	return 0, "", false
}

var vmxRE = regexp.MustCompile(`^(vmx-)?0*([0-9]{1,3})$`)

// ParseVersion reads a hardware version option: "vmx-N" (vSphere writes
// both vmx-07 and vmx-21) or "N", which is how an HCL number (`vm_version =
// 19` in vsphere-iso) reaches a string option. It returns N.
func ParseVersion(s string) (int, error) { return parse(s, false) }

// ParseVMX is ParseVersion for the "vmx-N" spelling only, as an OVF's
// VirtualSystemType writes it.
func ParseVMX(s string) (int, error) { return parse(s, true) }

func parse(s string, vmxOnly bool) (int, error) {
	m := vmxRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || vmxOnly && m[1] == "" {
		return 0, fmt.Errorf("%q is not a VMware hardware version; write vmx-N or N, for example vmx-19 or 19", s)
	}
	n, _ := strconv.Atoi(m[2])
	if n < MinVersion {
		return 0, fmt.Errorf("%q: hardware versions below vmx-%d cannot be written to OVF", s, MinVersion)
	}
	return n, nil
}

// FormatVersion writes n as vSphere's exports do: vmx-07, vmx-21.
func FormatVersion(n int) string { return fmt.Sprintf("vmx-%02d", n) }

// SystemTypes splits a VirtualSystemType value: OVF allows several
// families separated by white space; some tools use commas.
func SystemTypes(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

// HighestVersion is the highest vmx-N family of a VirtualSystemType value,
// 0 when it names none.
func HighestVersion(virtualSystemType string) int {
	best := 0
	for _, f := range SystemTypes(virtualSystemType) {
		if n, err := ParseVMX(f); err == nil && n > best {
			best = n
		}
	}
	return best
}
