package ovftarget

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// item is one hardware item (Item, or OVF 2's StorageItem/EthernetPortItem)
// of a VirtualHardwareSection. Its fields are read by local name, as every
// importer does, so rasd/sasd/epasd all work.
type item struct {
	elem         *ovf.Element
	resourceType int // -1 when absent or not a number
	subtype      string
	instanceID   string
	name         string // ElementName
	required     bool   // ovf:required is not "false"
	hostResource []string
	parent       string
}

func readItem(e *ovf.Element) item {
	it := item{elem: e, resourceType: -1, required: true}
	if v, ok := ovf.OVFAttr(e, "required"); ok && v == "false" {
		it.required = false
	}
	for _, c := range e.Children() {
		text := strings.TrimSpace(c.Text())
		switch c.Name.Local {
		case "ResourceType":
			if n, err := strconv.Atoi(text); err == nil {
				it.resourceType = n
			}
		case "ResourceSubType":
			it.subtype = text
		case "InstanceID", "InstanceId":
			it.instanceID = text
		case "ElementName":
			it.name = text
		case "HostResource":
			it.hostResource = append(it.hostResource, text)
		case "Parent":
			it.parent = text
		}
	}
	return it
}

func (it item) child(local string) *ovf.Element {
	for _, c := range it.elem.Children() {
		if c.Name.Local == local {
			return c
		}
	}
	return nil
}

// describe names the item for messages: its ElementName and InstanceID.
func (it item) describe() string {
	name := it.name
	if name == "" {
		name = fmt.Sprintf("ResourceType %d", it.resourceType)
	}
	return fmt.Sprintf("%q (InstanceID %s, line %d)", name, it.instanceID, it.elem.Line())
}

func isItem(e *ovf.Element) bool {
	switch e.Name.Local {
	case "Item", "StorageItem", "EthernetPortItem":
		return true
	}
	return false
}

// virtualSystems returns every VirtualSystem, also inside collections.
func virtualSystems(doc *ovf.Document) []*ovf.Element {
	var out []*ovf.Element
	doc.Root().Walk(func(e *ovf.Element) bool {
		if ovf.IsOVF(e, "VirtualSystem") {
			out = append(out, e)
			return false
		}
		return true
	})
	return out
}

func hardwareSections(doc *ovf.Document) []*ovf.Element {
	var out []*ovf.Element
	for _, vs := range virtualSystems(doc) {
		for _, c := range vs.Children() {
			if ovf.IsOVF(c, "VirtualHardwareSection") {
				out = append(out, c)
			}
		}
	}
	return out
}

func items(doc *ovf.Document) []item {
	var out []item
	for _, hw := range hardwareSections(doc) {
		for _, c := range hw.Children() {
			if isItem(c) {
				out = append(out, readItem(c))
			}
		}
	}
	return out
}

// vmwConfigs returns the vmw:Config (kind "Config") or vmw:ExtraConfig
// elements directly inside hardware sections and items.
func vmwConfigs(doc *ovf.Document, kind string) []*ovf.Element {
	var out []*ovf.Element
	for _, hw := range hardwareSections(doc) {
		hw.Walk(func(e *ovf.Element) bool {
			if e.Name.Space == ovf.NamespaceVMW && e.Name.Local == kind {
				out = append(out, e)
			}
			return true
		})
	}
	return out
}

func vmwKey(e *ovf.Element) (key, value string) {
	key, _ = e.Attr(ovf.NamespaceVMW, "key")
	value, _ = e.Attr(ovf.NamespaceVMW, "value")
	return key, value
}

// firmware returns the export's vmw:Config firmware value ("bios", "efi").
func firmware(doc *ovf.Document) string {
	for _, c := range vmwConfigs(doc, "Config") {
		if k, v := vmwKey(c); k == "firmware" {
			return strings.ToLower(v)
		}
	}
	return ""
}

// removableDevices maps remove_devices names to CIM ResourceTypes
// (CIM_ResourceAllocationSettingData.ResourceType).
var removableDevices = map[string][]int{
	"cdrom":    {15, 16}, // CD drive, DVD drive
	"floppy":   {14},
	"usb":      {23},
	"serial":   {21},
	"parallel": {22},
	"sound":    {35},
}

// deviceNeed is the lowest virtual hardware version that has a device.
// Sources: VMware KB 1003746 "Virtual machine hardware versions" and vSphere
// "Hardware Features Available with Virtual Machine Compatibility Settings".
type deviceNeed struct {
	resourceType int
	subtype      string // lower case
	version      int
	what         string
}

var deviceNeeds = []deviceNeed{
	{10, "vmxnet3", 7, "VMXNET3 network adapter"},               // ESX 4.0
	{6, "virtualscsi", 7, "VMware Paravirtual SCSI controller"}, // ESX 4.0
	{6, "lsilogicsas", 7, "LSI Logic SAS controller"},           // ESX 4.0
	{10, "e1000e", 8, "E1000e network adapter"},                 // ESXi 5.0
	{23, "vmware.usb.xhci", 8, "USB 3 (xHCI) controller"},       // ESXi 5.0
	{20, "vmware.sata.ahci", 10, "SATA (AHCI) controller"},      // ESXi 5.5
	{20, "vmware.nvme.controller", 13, "NVMe controller"},       // ESXi 6.5
}

// configNeeds are vmw:Config settings that need a hardware version.
var configNeeds = []struct {
	key, value string
	version    int
	what       string
}{
	{"firmware", "efi", 8, "EFI firmware"},                                  // ESXi 5.0
	{"bootOptions.efiSecureBootEnabled", "true", 13, "UEFI Secure Boot"},    // ESXi 6.5
	{"nestedHVEnabled", "true", 9, "nested hardware virtualization"},        // ESXi 5.1
	{"flags.vbsEnabled", "true", 14, "virtualization-based security (VBS)"}, // ESXi 6.7
}

// requirement is the highest device need found in the export.
type requirement struct {
	version int
	what    string
}

func hardwareNeeds(doc *ovf.Document) requirement {
	var r requirement
	need := func(v int, what string) {
		if v > r.version {
			r = requirement{v, what}
		}
	}
	for _, it := range items(doc) {
		for _, n := range deviceNeeds {
			if it.resourceType == n.resourceType && strings.EqualFold(it.subtype, n.subtype) {
				need(n.version, fmt.Sprintf("%s %s", n.what, it.describe()))
			}
		}
	}
	for _, c := range vmwConfigs(doc, "Config") {
		k, v := vmwKey(c)
		for _, n := range configNeeds {
			if k == n.key && strings.EqualFold(v, n.value) {
				need(n.version, fmt.Sprintf("%s (vmw:Config %s=%s, line %d)", n.what, k, v, c.Line()))
			}
		}
	}
	return r
}

var vmxRE = regexp.MustCompile(`^vmx-0*([0-9]{1,3})$`)

// parseVMX reads "vmx-N" (vSphere writes "vmx-07" as well as "vmx-21").
func parseVMX(s string) (int, error) {
	m := vmxRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a VMware hardware version; write vmx-N, for example vmx-19", s)
	}
	n, _ := strconv.Atoi(m[1])
	if n < 4 {
		return 0, fmt.Errorf("%q: hardware versions below vmx-4 cannot be written to OVF", s)
	}
	return n, nil
}

// systemTypes splits a VirtualSystemType value: OVF allows several families
// separated by white space; some tools use commas.
func systemTypes(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}
