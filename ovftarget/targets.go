package ovftarget

import "strings"

// Target is a place an OVA is imported into; each has a rule set that
// Customize applies on top of the user's options.
type Target string

// The targets.
const (
	// VSphere keeps the export as vCenter wrote it: only the options change it.
	VSphere Target = "vsphere"
	// Workstation is VMware Workstation, Fusion and Player.
	Workstation Target = "workstation"
	// VirtualBox is Oracle VirtualBox's appliance import.
	VirtualBox Target = "virtualbox"
	// Portable is what imports in vSphere, Workstation and VirtualBox alike.
	Portable Target = "portable"
)

func (t Target) valid() bool {
	switch t {
	case VSphere, Workstation, VirtualBox, Portable:
		return true
	}
	return false
}

func targetNames() string { return "vsphere, workstation, virtualbox, portable" }

// DefaultWorkstationMaxHardware is the highest virtual hardware version the
// current VMware Workstation Pro release documents: 25H2 (October 2025)
// introduced hardware version 22. Workstation 17.5 and 17.6 stop at 21
// (Broadcom API docs, Vm Hardware Version enum: "VMX_21: first supported in
// ESXi 8.0 U2", the same family Workstation 17.5 shipped).
const DefaultWorkstationMaxHardware = 22

// rules is what a target changes, beyond the user's options.
type rules struct {
	// maxHardware caps VirtualSystemType (0: no cap of its own).
	maxHardware int
	// listForm writes a lowered VirtualSystemType as "vmx-<cap> vmx-<orig>":
	// OVF lets a descriptor list several families and the importer picks one
	// it supports, so vSphere keeps the original and Workstation takes the cap.
	listForm bool
	// optionalTypes marks hardware items of ResourceTypes outside this set
	// ovf:required="false" so the importer skips them instead of failing.
	optionalTypes map[int]bool
	// sataAHCI rewrites SATA controller subtype vmware.sata.ahci to AHCI.
	sataAHCI bool
	// numericOSID, memoryUnits, dropNVRAM, efiLoss: VirtualBox's rules.
	numericOSID bool
	memoryUnits bool
	dropNVRAM   bool
	efiLoss     bool
	// sataWarning: keeps vmware.sata.ahci but warns that old VirtualBox
	// releases refuse it.
	sataWarning bool
}

// workstationTypes are the CIM ResourceTypes Workstation's virtual hardware
// has a device for (DSP1041 / CIM_ResourceAllocationSettingData.ResourceType:
// 1 other (VMCI), 3 processor, 4 memory, 5 IDE, 6 SCSI, 10 Ethernet, 14
// floppy, 15 CD, 16 DVD, 17 disk, 20 other storage (SATA, NVMe), 21 serial,
// 22 parallel, 23 USB, 24 graphics, 35 sound). Anything else in a vSphere
// export is a vSphere-only device that Workstation's OVF import (ovftool)
// refuses while it is required.
var workstationTypes = set(1, 3, 4, 5, 6, 10, 14, 15, 16, 17, 20, 21, 22, 23, 24, 35)

// virtualBoxTypes are the ResourceTypes VirtualBox's OVF reader handles
// (src/VBox/Main/xml/ovfreader.cpp, OVFReader::HandleVirtualSystemContent,
// the switch on i.resourceType): processor 3, memory 4, IDE 5, SCSI 6,
// Ethernet 10, floppy 14, CD 15, disk 17, other storage 20, USB 23, sound 35.
// Its default branch throws "Unknown resource type %d in hardware item"
// unless the item carries ovf:required="false".
var virtualBoxTypes = set(3, 4, 5, 6, 10, 14, 15, 17, 20, 23, 35)

func set(v ...int) map[int]bool {
	m := map[int]bool{}
	for _, x := range v {
		m[x] = true
	}
	return m
}

func (t Target) rules() rules {
	switch t {
	case Workstation:
		return rules{maxHardware: DefaultWorkstationMaxHardware, listForm: true, optionalTypes: workstationTypes}
	case VirtualBox:
		return rules{optionalTypes: virtualBoxTypes, sataAHCI: true, numericOSID: true, memoryUnits: true, dropNVRAM: true, efiLoss: true}
	case Portable:
		// The intersection: VirtualBox's item set (a subset of Workstation's),
		// Workstation's cap, and no change vSphere would refuse: vSphere
		// rejects SATA subtype "AHCI" ("No support for the virtual hardware
		// device type '20'"), so vmware.sata.ahci stays.
		return rules{maxHardware: DefaultWorkstationMaxHardware, listForm: true, optionalTypes: virtualBoxTypes,
			numericOSID: true, memoryUnits: true, dropNVRAM: true, efiLoss: true, sataWarning: true}
	}
	return rules{}
}

// virtualBoxMemoryUnits are the AllocationUnits VirtualBox accepts on the
// memory item (ovfreader.cpp, case ResourceType_Memory); any other value
// throws "Invalid allocation unit".
var virtualBoxMemoryUnits = map[string]int{
	"MegaBytes": 20, "MB": 20, "byte * 2^20": 20,
	"GigaBytes": 30, "GB": 30, "byte * 2^30": 30,
}

// virtualBoxStorageSubtypes are the ResourceType 20 subtypes VirtualBox
// reads (ovfreader.cpp, case ResourceType_OtherStorageDevice, compared
// case-insensitively); others throw whatever ovf:required says. Releases
// before the vmware.* spellings were added accept "AHCI" only.
var virtualBoxStorageSubtypes = []string{"ahci", "vmware.sata.ahci", "virtioscsi", "virtio-scsi", "nvme", "vmware.nvme.controller"}

func isVirtualBoxStorageSubtype(s string) bool {
	for _, x := range virtualBoxStorageSubtypes {
		if strings.EqualFold(s, x) {
			return true
		}
	}
	return false
}
