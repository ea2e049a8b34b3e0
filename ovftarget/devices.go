package ovftarget

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// removeDevices removes the items remove_devices names, and marks files
// only they used (a CD-ROM's ISO) for dropping.
func (s *session) removeDevices() error {
	if len(s.c.RemoveDevices) == 0 {
		return nil
	}
	types := map[int]string{}
	for _, d := range s.c.RemoveDevices {
		for _, t := range removableDevices[strings.ToLower(d)] {
			types[t] = strings.ToLower(d)
		}
	}
	removed := map[string]bool{} // InstanceIDs
	ed := s.doc.Edit()
	for _, it := range ovf.Items(s.doc) {
		if _, ok := types[it.ResourceType]; !ok {
			continue
		}
		ed.Remove(it.Elem)
		removed[it.InstanceID] = true
		for _, hr := range it.HostResource {
			if id, ok := fileRefID(hr); ok {
				s.markDrop(s.hrefOfID(id))
			}
		}
	}
	s.doc.Root().Walk(func(e *ovf.Element) bool {
		if e.Name.Space == ovf.NamespaceVMW && e.Name.Local == "BootOrderSection" {
			if id, _ := e.Attr(ovf.NamespaceVMW, "instanceId"); removed[id] {
				s.warn("vmw:BootOrderSection (line %d) names removed device InstanceID %s; vSphere falls back to its default boot order", e.Line(), id)
			}
		}
		return true
	})
	return s.apply(ed)
}

// hardwareVersion applies hardware_version, or max_hardware_version / the
// target's cap, to every System/VirtualSystemType, refusing a version below
// what the export's devices need.
func (s *session) hardwareVersion() error {
	need := hardwareNeeds(s.doc)
	exact, cap, option := 0, s.rules.maxHardware, fmt.Sprintf("max_hardware_version (default vmx-%d for target %s)", s.rules.maxHardware, s.target)
	if s.c.HardwareVersion != "" {
		n, err := hardware.ParseVersion(s.c.HardwareVersion)
		if err != nil {
			return fmt.Errorf("hardware_version: %w", err)
		}
		exact, option = n, "hardware_version"
	} else if s.c.MaxHardwareVersion != "" {
		n, err := hardware.ParseVersion(s.c.MaxHardwareVersion)
		if err != nil {
			return fmt.Errorf("max_hardware_version: %w", err)
		}
		cap, option = n, "max_hardware_version"
	}
	if exact == 0 && cap == 0 {
		return nil
	}
	ed := s.doc.Edit()
	for _, hw := range ovf.AllHardwareSections(s.doc) {
		sys := hw.Child(s.ns, "System")
		if sys == nil {
			continue
		}
		var vst *ovf.Element
		for _, c := range sys.Children() {
			if c.Name.Local == "VirtualSystemType" {
				vst = c
			}
		}
		if vst == nil {
			continue
		}
		families := hardware.SystemTypes(vst.Text())
		var want []string
		if exact > 0 {
			if need.version > exact {
				return fmt.Errorf("%s: vmx-%02d is below vmx-%02d, which the export's %s needs; use vmx-%02d or later, or remove the device", option, exact, need.version, need.what, need.version)
			}
			want = []string{hardware.FormatVersion(exact)}
		} else {
			if hardware.HighestVersion(vst.Text()) <= cap {
				continue
			}
			if need.version > cap {
				return fmt.Errorf("%s: vmx-%02d is below vmx-%02d, which the export's %s needs; raise %s to vmx-%02d or remove the device", option, cap, need.version, need.what, strings.Fields(option)[0], need.version)
			}
			// An explicit max_hardware_version is a hard ceiling: only a
			// target's default cap keeps the original family listed.
			want = capFamilies(families, cap, s.rules.listForm && s.c.MaxHardwareVersion == "")
		}
		if got := strings.Join(want, " "); got != strings.TrimSpace(vst.Text()) {
			ed.SetText(vst, got)
		}
	}
	return s.apply(ed)
}

// capFamilies lowers a VirtualSystemType list to cap: families at or below
// it stay, cap is added, and those above it stay too in list form.
func capFamilies(families []string, cap int, listForm bool) []string {
	var low, high []string
	capName := hardware.FormatVersion(cap)
	for _, f := range families {
		n, err := hardware.ParseVMX(f)
		switch {
		case err != nil || n < cap:
			low = append(low, f)
		case n > cap:
			high = append(high, f)
		}
	}
	out := append(low, capName)
	if listForm {
		out = append(out, high...)
	}
	return out
}

// optionalItems marks items of ResourceTypes the target has no device for
// ovf:required="false", so the importer skips them.
func (s *session) optionalItems() error {
	if s.rules.optionalTypes == nil {
		return nil
	}
	ed := s.doc.Edit()
	for _, it := range ovf.Items(s.doc) {
		if it.ResourceType < 0 {
			s.warn("hardware item %s has no numeric ResourceType; importers reject it", it.Describe())
			continue
		}
		if it.Required && !s.rules.optionalTypes[it.ResourceType] {
			ed.SetAttr(it.Elem, s.name("required"), "false")
		}
	}
	return s.apply(ed)
}

// storageSubtypes handles ResourceType 20 (SATA, NVMe) for VirtualBox.
func (s *session) storageSubtypes() error {
	if !s.rules.sataAHCI && !s.rules.sataWarning {
		return nil
	}
	ed := s.doc.Edit()
	warnedSATA, warnedNVMe := false, false
	sata, _ := hardware.LookupController(hardware.SATA)
	nvme, _ := hardware.LookupController(hardware.NVMe)
	for _, it := range ovf.Items(s.doc) {
		if it.ResourceType != hardware.TypeOtherStorage {
			continue
		}
		if !isVirtualBoxStorageSubtype(it.SubType) {
			return fmt.Errorf("target %s: VirtualBox cannot import storage controller %s with subtype %q (ovfreader.cpp reads AHCI, VirtioSCSI and NVMe only); use target vsphere or workstation for this export", s.target, it.Describe(), it.SubType)
		}
		switch {
		case strings.EqualFold(it.SubType, sata.SubType):
			if s.rules.sataAHCI {
				ed.SetText(it.Child("ResourceSubType"), "AHCI")
			} else if !warnedSATA {
				warnedSATA = true
				s.warn("SATA controller %s keeps subtype vmware.sata.ahci, which vSphere needs; older VirtualBox releases accept only AHCI, so use target virtualbox for them", it.Describe())
			}
		case strings.EqualFold(it.SubType, nvme.SubType):
			if !warnedNVMe {
				warnedNVMe = true
				s.warn("NVMe controller %s: only VirtualBox releases that read NVMe controllers from OVF import it; older ones stop with \"supported with SATA AHCI controllers only\"", it.Describe())
			}
		}
	}
	return s.apply(ed)
}

// memoryUnits rewrites the memory item's AllocationUnits to "byte * 2^20"
// (with the quantity converted) when VirtualBox would not accept them.
func (s *session) memoryUnits() error {
	if !s.rules.memoryUnits {
		return nil
	}
	ed := s.doc.Edit()
	for _, it := range ovf.Items(s.doc) {
		if it.ResourceType != hardware.TypeMemory {
			continue
		}
		unitsElem, qtyElem := it.Child("AllocationUnits"), it.Child("VirtualQuantity")
		if unitsElem == nil || qtyElem == nil {
			return fmt.Errorf("target %s: memory item %s has no AllocationUnits or VirtualQuantity; VirtualBox cannot read its size", s.target, it.Describe())
		}
		units := strings.TrimSpace(unitsElem.Text())
		if _, ok := virtualBoxMemoryUnits[units]; ok {
			continue
		}
		shift, uerr := hardware.ParseUnits(units)
		qty, err := strconv.ParseUint(strings.TrimSpace(qtyElem.Text()), 10, 64)
		if uerr != nil || shift > 60 || err != nil {
			return fmt.Errorf("target %s: memory item %s: cannot convert %q %q to megabytes for VirtualBox", s.target, it.Describe(), qtyElem.Text(), units)
		}
		bytes := qty << shift
		mb := (bytes + 1<<20 - 1) >> 20
		ed.SetText(unitsElem, hardware.UnitsMiB)
		ed.SetText(qtyElem, strconv.FormatUint(mb, 10))
	}
	return s.apply(ed)
}

// osID gives OperatingSystemSection a numeric ovf:id: VirtualBox reads it
// as an integer (ovfreader.cpp: getAttributeValue("id", uint64) or
// "missing or invalid 'ovf:id' attribute in operating system section").
// Values are CIM_OperatingSystem.OSType: 1 Other, 36 LINUX, 101 Linux
// 64-Bit, 102 Other 64-Bit.
func (s *session) osID() error {
	if !s.rules.numericOSID {
		return nil
	}
	ed := s.doc.Edit()
	for _, vs := range ovf.VirtualSystems(s.doc) {
		for _, os := range vs.ChildrenNamed(s.ns, "OperatingSystemSection") {
			id, _ := ovf.OVFAttr(os, "id")
			if _, err := strconv.ParseUint(strings.TrimSpace(id), 10, 64); err == nil {
				continue
			}
			guest, _ := os.Attr(ovf.NamespaceVMW, "osType")
			num := cimOSType(guest)
			ed.SetAttr(os, s.name("id"), num)
			s.warn("OperatingSystemSection (line %d) had ovf:id %q; wrote CIM OS type %s for VirtualBox", os.Line(), id, num)
		}
	}
	return s.apply(ed)
}

func cimOSType(vmwGuest string) string {
	g := strings.ToLower(vmwGuest)
	switch {
	case strings.Contains(g, "linux") && strings.Contains(g, "64"):
		return "101"
	case strings.Contains(g, "linux"):
		return "36"
	case strings.Contains(g, "64"):
		return "102"
	}
	return "1"
}

// firmwareLoss warns (or fails) when an EFI guest goes to VirtualBox, whose
// OVF reader never reads vmw:Config (ovfreader.cpp reads firmware only from
// a vbox:Machine element), so the VM is created with BIOS firmware.
func (s *session) firmwareLoss() error {
	if !s.rules.efiLoss || firmware(s.doc) != "efi" {
		return nil
	}
	msg := "the guest uses EFI firmware, which VirtualBox does not read from an OVF: it imports the VM with BIOS firmware and the guest will not boot until EFI is enabled in the VM's settings (System > Motherboard > Enable EFI, or VBoxManage modifyvm <vm> --firmware efi)"
	if s.c.FailOnFirmwareLoss {
		return fmt.Errorf("target %s: %s; fail_on_firmware_loss is set", s.target, msg)
	}
	s.warn("%s; set fail_on_firmware_loss = true to fail the build instead", msg)
	return nil
}
