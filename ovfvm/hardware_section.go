package ovfvm

import (
	"fmt"
	"strconv"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
)

// hardwareSection writes the VirtualHardwareSection in the item order of
// a vCenter 8 export (the Bitnami LAMP export of vCenter build-21560480):
// CPU, memory, disk controller, IDE 1, IDE 0, video card, VMCI, disks,
// network adapters, then the VM-wide vmw:Config settings. InstanceIDs
// count up from 1 in that order. It is long on purpose: one block per item,
// in export order, so it can be read against a real export line by line.
func hardwareSection(v vm, ndisks int) *node {
	hw := el("VirtualHardwareSection", textEl("Info", "Virtual hardware requirements"))
	hw.add(el("System",
		textEl("vssd:ElementName", "Virtual Hardware Family"),
		textEl("vssd:InstanceID", "0"),
		textEl("vssd:VirtualSystemIdentifier", v.name),
		textEl("vssd:VirtualSystemType", hardware.FormatVersion(v.hwVersion)),
	))
	id := 0
	next := func() string { id++; return strconv.Itoa(id) }

	hw.add(item(
		textEl("rasd:AllocationUnits", hardware.UnitsMHz),
		textEl("rasd:Description", "Number of Virtual CPUs"),
		textEl("rasd:ElementName", fmt.Sprintf("%d virtual CPU(s)", v.cpus)),
		textEl("rasd:InstanceID", next()),
		textEl("rasd:ResourceType", "3"),
		textEl("rasd:VirtualQuantity", strconv.Itoa(v.cpus)),
		textEl("vmw:CoresPerSocket", strconv.Itoa(v.cores)).attr("ovf:required", "false"),
	))
	hw.add(item(
		textEl("rasd:AllocationUnits", hardware.UnitsMiB),
		textEl("rasd:Description", "Memory Size"),
		textEl("rasd:ElementName", fmt.Sprintf("%dMB of memory", v.memory)),
		textEl("rasd:InstanceID", next()),
		textEl("rasd:ResourceType", "4"),
		textEl("rasd:VirtualQuantity", strconv.Itoa(v.memory)),
	))

	c := v.controller
	controllerID := next()
	hw.add(item(
		textEl("rasd:Address", "0"),
		textEl("rasd:Description", c.Description),
		textEl("rasd:ElementName", c.Label+" 0"),
		textEl("rasd:InstanceID", controllerID),
		textEl("rasd:ResourceSubType", c.SubType),
		textEl("rasd:ResourceType", strconv.Itoa(c.ResourceType)),
	))
	// Every vSphere VM has the chipset's two IDE controllers, and its
	// export lists them even when nothing is attached.
	for _, bus := range []string{"1", "0"} {
		hw.add(item(
			textEl("rasd:Address", bus),
			textEl("rasd:Description", "IDE Controller"),
			textEl("rasd:ElementName", "IDE "+bus),
			textEl("rasd:InstanceID", next()),
			textEl("rasd:ResourceType", "5"),
		))
	}
	// Video memory as vCenter exports show it for new VMs: 8 MB for EFI
	// guests (every EFI export we have), 4 MB for a BIOS Linux guest (the
	// Bitnami export; a BIOS Windows export of vCenter 6.7 has 8 MB).
	videoKB := "4096"
	if v.firmware == FirmwareEFI {
		videoKB = "8192"
	}
	hw.add(item(
		textEl("rasd:AutomaticAllocation", "false"),
		textEl("rasd:ElementName", "Video card"),
		textEl("rasd:InstanceID", next()),
		textEl("rasd:ResourceType", "24"),
		vmwConfig("useAutoDetect", "false"),
		vmwConfig("videoRamSizeInKB", videoKB),
		vmwConfig("enable3DSupport", "false"),
		vmwConfig("use3dRenderer", "automatic"),
		vmwConfig("graphicsMemorySizeInKB", "262144"),
	).attr("ovf:required", "false"))
	hw.add(item(
		textEl("rasd:AutomaticAllocation", "false"),
		textEl("rasd:ElementName", "VMCI device"),
		textEl("rasd:InstanceID", next()),
		textEl("rasd:ResourceSubType", "vmware.vmci"),
		textEl("rasd:ResourceType", "1"),
		vmwConfig("allowUnrestrictedCommunication", "false"),
	).attr("ovf:required", "false"))

	for i := 0; i < ndisks; i++ {
		hw.add(item(
			textEl("rasd:AddressOnParent", strconv.Itoa(c.Units[i])),
			textEl("rasd:ElementName", fmt.Sprintf("Hard disk %d", i+1)),
			textEl("rasd:HostResource", fmt.Sprintf("ovf:/disk/vmdisk%d", i+1)),
			textEl("rasd:InstanceID", next()),
			textEl("rasd:Parent", controllerID),
			textEl("rasd:ResourceType", "17"),
			vmwConfig("backing.writeThrough", "false"),
		))
	}
	for i, n := range v.networks {
		nic, _ := hardware.LookupNIC(n.NetworkCard)
		sub := nic.SubType
		// vCenter numbers NICs' AddressOnParent from 7 (its PCI slot
		// order); "Network adapter N" counts from 1. A static MAC goes in
		// rasd:Address, where vSphere's export (option "mac") and vCloud
		// Director write it.
		var kids []*node
		if n.MACAddress != "" {
			kids = append(kids, textEl("rasd:Address", n.MACAddress))
		}
		hw.add(item(append(kids,
			textEl("rasd:AddressOnParent", strconv.Itoa(7+i)),
			textEl("rasd:AutomaticAllocation", "true"),
			textEl("rasd:Connection", n.Network),
			textEl("rasd:Description", sub+" ethernet adapter on \""+n.Network+"\""),
			textEl("rasd:ElementName", fmt.Sprintf("Network adapter %d", i+1)),
			textEl("rasd:InstanceID", next()),
			textEl("rasd:ResourceSubType", sub),
			textEl("rasd:ResourceType", "10"),
			vmwConfig("wakeOnLanEnabled", "true"),
			vmwConfig("connectable.allowGuestControl", "true"),
		)...))
	}
	// VM-wide settings vCenter 7/8 exports always carry. firmware and
	// bootOptions.efiSecureBootEnabled are how vSphere's export spells the
	// VM's bootOptions (the .vmx's firmware and uefi.secureBoot.enabled).
	hw.add(
		vmwConfig("cpuHotAddEnabled", "false"),
		vmwConfig("cpuHotRemoveEnabled", "false"),
		vmwConfig("memoryHotAddEnabled", "false"),
		vmwConfig("firmware", v.firmware),
		vmwConfig("tools.syncTimeWithHost", "false"),
		vmwConfig("virtualICH7MPresent", "false"),
		vmwConfig("virtualSMCPresent", "false"),
		vmwConfig("bootOptions.efiSecureBootEnabled", strconv.FormatBool(v.secureBoot)),
	)
	return hw
}

func item(kids ...*node) *node { return el("Item", kids...) }

func vmwConfig(key, value string) *node {
	return el("vmw:Config").attr("ovf:required", "false").attr("vmw:key", key).attr("vmw:value", value)
}
