package ovftarget

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
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
	"cdrom":    {hardware.TypeCDDrive, hardware.TypeDVDDrive},
	"floppy":   {hardware.TypeFloppy},
	"usb":      {hardware.TypeUSBController},
	"serial":   {hardware.TypeSerialPort},
	"parallel": {hardware.TypeParallelPort},
	"sound":    {hardware.TypeSound},
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
		if v, what, ok := hardware.ItemNeed(it.resourceType, it.subtype); ok {
			need(v, fmt.Sprintf("%s %s", what, it.describe()))
		}
	}
	for _, c := range vmwConfigs(doc, "Config") {
		k, v := vmwKey(c)
		for _, n := range hardware.ConfigNeeds {
			if k == n.Key && strings.EqualFold(v, n.Value) {
				need(n.MinVersion, fmt.Sprintf("%s (vmw:Config %s=%s, line %d)", n.What, k, v, c.Line()))
			}
		}
	}
	return r
}
