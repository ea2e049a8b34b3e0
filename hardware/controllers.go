package hardware

import (
	"fmt"
	"strings"
)

// Controller names, as vSphere's API and the plugin's options spell them.
const (
	PVSCSI      = "pvscsi"
	LSILogic    = "lsilogic"
	LSILogicSAS = "lsilogicsas"
	BusLogic    = "buslogic"
	SATA        = "sata"
	NVMe        = "nvme"
	IDE         = "ide"
)

// Controller is a disk controller as vSphere has it, with how each tool on
// the way writes it.
type Controller struct {
	Name string
	// ResourceType and SubType are the controller item's rasd values as a
	// vSphere export writes them (SubType is compared case-insensitively).
	ResourceType int
	SubType      string
	// Description and Label are the item's rasd:Description and the
	// rasd:ElementName prefix ("<Label> 0") of a vCenter export.
	Description, Label string
	// Units are the AddressOnParent values a disk may take on vSphere, in
	// order.
	Units []int
	// QEMUDevice is the -device model that stands in for it under QEMU, so
	// the guest's driver and device names do not change ("" for IDE, which
	// is the chipset's; BusLogic has none). QEMUUnits is how many disks
	// that device takes.
	QEMUDevice string
	QEMUUnits  int
	// AdapterType is the ddb.adapterType vSphere writes into the
	// descriptor of a disk behind it: the VMDK format knows only ide,
	// buslogic, lsilogic and legacyESX, and vSphere writes lsilogic for
	// every SCSI, SAS and NVMe controller but BusLogic.
	AdapterType string
	// MinVersion is the lowest virtual hardware version with it.
	MinVersion int
	What       string // for messages: "VMware Paravirtual SCSI controller"
	// aliases are the other spellings OVFs and users give.
	aliases []string
}

// scsiUnits skip unit 7, which a SCSI controller holds itself (vSphere:
// "SCSI controller ... unit number 7 is reserved").
var scsiUnits = []int{0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// controllers, in the order messages list them.
var controllers = []Controller{
	// ESX 4.0 (vmx-7) introduced PVSCSI and LSI Logic SAS.
	{PVSCSI, TypeSCSIHBA, "VirtualSCSI", "SCSI Controller", "SCSI controller", scsiUnits,
		"pvscsi", 64, "lsilogic", 7, "VMware Paravirtual SCSI controller", []string{"virtualscsi", "paravirtual"}},
	// VMware's LSI Logic is an LSI53C1030 (Linux mptspi). QEMU has no model
	// of it; lsi53c895a (Linux sym53c8xx) is the nearest parallel LSI
	// controller, so the guest's driver differs. lsi53c895a has 7 targets.
	{LSILogic, TypeSCSIHBA, "lsilogic", "SCSI Controller", "SCSI controller", scsiUnits,
		"lsi53c895a", 7, "lsilogic", 4, "LSI Logic SCSI controller", nil},
	{LSILogicSAS, TypeSCSIHBA, "lsilogicsas", "SCSI Controller", "SCSI controller", scsiUnits,
		"mptsas1068", 8, "lsilogic", 7, "LSI Logic SAS controller", []string{"lsisas1068"}},
	{BusLogic, TypeSCSIHBA, "buslogic", "SCSI Controller", "SCSI controller", scsiUnits,
		"", 0, "buslogic", 4, "BusLogic SCSI controller", nil},
	// SATA AHCI: ESXi 5.5 (vmx-10), 30 devices per controller; QEMU's
	// ich9-ahci has 6 ports.
	{SATA, TypeOtherStorage, "vmware.sata.ahci", "SATA Controller", "SATA controller", seq(30),
		"ich9-ahci", 6, "ide", 10, "SATA (AHCI) controller", []string{"ahci"}},
	// NVMe: ESXi 6.5 (vmx-13), 15 namespaces per controller before vSphere
	// 8.0 U2 raised it, so 15 is what every importer takes.
	{NVMe, TypeOtherStorage, "vmware.nvme.controller", "NVME Controller", "NVME controller", seq(15),
		"nvme", 64, "lsilogic", 13, "NVMe controller", nil},
	// The chipset's PIIX4 IDE: two channels of two units.
	{IDE, TypeIDEController, "PIIX4", "IDE Controller", "IDE", seq(4),
		"", 4, "ide", 4, "IDE controller", []string{"piix4", "piix3"}},
}

// Controllers returns every controller the catalog knows, in a fixed order.
func Controllers() []Controller { return append([]Controller(nil), controllers...) }

// LookupController finds a controller by its name, its OVF subtype or
// another common spelling ("VirtualSCSI", "vmware.sata.ahci", "PIIX4"),
// case-insensitively.
func LookupController(name string) (Controller, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, c := range controllers {
		if n == c.Name || n == strings.ToLower(c.SubType) {
			return c, true
		}
		for _, a := range c.aliases {
			if n == a {
				return c, true
			}
		}
	}
	return Controller{}, false
}

// ControllerForItem finds the controller an OVF item describes: IDE (5)
// whatever its subtype, SCSI (6) and other storage (20) by their subtype;
// a SCSI item without one is LSI Logic, as OVF tools default it.
func ControllerForItem(resourceType int, subtype string) (Controller, error) {
	switch resourceType {
	case TypeIDEController:
		c, _ := LookupController(IDE)
		return c, nil
	case TypeSCSIHBA:
		if strings.TrimSpace(subtype) == "" {
			subtype = LSILogic
		}
	case TypeOtherStorage:
	default:
		return Controller{}, fmt.Errorf("ResourceType %d is not a disk controller", resourceType)
	}
	c, ok := LookupController(subtype)
	if !ok || c.ResourceType != resourceType {
		return Controller{}, fmt.Errorf("unknown disk controller subtype %q for ResourceType %d", subtype, resourceType)
	}
	return c, nil
}

// AdapterTypeFor is the ddb.adapterType for a disk behind the named
// controller; unknown names get lsilogic, as vSphere's own default.
func AdapterTypeFor(controller string) string {
	if c, ok := LookupController(controller); ok {
		return c.AdapterType
	}
	return "lsilogic"
}
