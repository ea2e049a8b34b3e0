package ovftarget

import (
	"fmt"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/hardware"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// vmwConfigs returns the vmw:Config (kind "Config") or vmw:ExtraConfig
// elements of every hardware section.
func vmwConfigs(doc *ovf.Document, kind string) []*ovf.Element {
	var out []*ovf.Element
	for _, hw := range ovf.AllHardwareSections(doc) {
		out = append(out, ovf.VMwConfigs(hw, kind)...)
	}
	return out
}

// firmware returns the export's vmw:Config firmware value ("bios", "efi").
func firmware(doc *ovf.Document) string {
	for _, c := range vmwConfigs(doc, "Config") {
		if k, v := ovf.VMwKey(c); k == "firmware" {
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
	for _, it := range ovf.Items(doc) {
		if v, what, ok := hardware.ItemNeed(it.ResourceType, it.SubType); ok {
			need(v, fmt.Sprintf("%s %s", what, it.Describe()))
		}
	}
	for _, c := range vmwConfigs(doc, "Config") {
		k, v := ovf.VMwKey(c)
		for _, n := range hardware.ConfigNeeds {
			if k == n.Key && strings.EqualFold(v, n.Value) {
				need(n.MinVersion, fmt.Sprintf("%s (vmw:Config %s=%s, line %d)", n.What, k, v, c.Line()))
			}
		}
	}
	return r
}
