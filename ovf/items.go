package ovf

import (
	"fmt"
	"strconv"
	"strings"
)

// Item is one hardware item (Item, or OVF 2's StorageItem and
// EthernetPortItem) of a VirtualHardwareSection. Its fields are read by
// local name, as every importer reads them, so rasd, sasd and epasd all
// work; Elem is the element, to edit it.
type Item struct {
	Elem         *Element
	ResourceType int // -1 when absent or not a number
	SubType      string
	InstanceID   string
	Name         string // ElementName
	Required     bool   // ovf:required is not "false"
	HostResource []string
	Parent       string
	// Address is a controller's bus number; AddressOnParent a device's
	// unit on its controller.
	Address, AddressOnParent string
}

// ReadItem reads a hardware item's fields.
func ReadItem(e *Element) Item {
	it := Item{Elem: e, ResourceType: -1, Required: true}
	if v, ok := OVFAttr(e, "required"); ok && v == "false" {
		it.Required = false
	}
	for _, c := range e.Children() {
		text := strings.TrimSpace(c.Text())
		switch c.Name.Local {
		case "ResourceType":
			if n, err := strconv.Atoi(text); err == nil {
				it.ResourceType = n
			}
		case "ResourceSubType":
			it.SubType = text
		case "InstanceID", "InstanceId":
			it.InstanceID = text
		case "ElementName":
			it.Name = text
		case "HostResource":
			it.HostResource = append(it.HostResource, text)
		case "Parent":
			it.Parent = text
		case "Address":
			it.Address = text
		case "AddressOnParent":
			it.AddressOnParent = text
		}
	}
	return it
}

// Child is the item's first child element of that local name, or nil.
func (it Item) Child(local string) *Element {
	for _, c := range it.Elem.Children() {
		if c.Name.Local == local {
			return c
		}
	}
	return nil
}

// Value is the trimmed text of the item's child of that local name, and
// whether it has one.
func (it Item) Value(local string) (string, bool) {
	c := it.Child(local)
	if c == nil {
		return "", false
	}
	return strings.TrimSpace(c.Text()), true
}

// Describe names the item for messages: its ElementName, InstanceID and
// line.
func (it Item) Describe() string {
	name := it.Name
	if name == "" {
		name = fmt.Sprintf("ResourceType %d", it.ResourceType)
	}
	return fmt.Sprintf("%q (InstanceID %s, line %d)", name, it.InstanceID, it.Elem.Line())
}

// IsItem reports whether e is a hardware item.
func IsItem(e *Element) bool {
	switch e.Name.Local {
	case "Item", "StorageItem", "EthernetPortItem":
		return true
	}
	return false
}

// VirtualSystems returns every VirtualSystem, also inside collections, in
// document order.
func VirtualSystems(doc *Document) []*Element {
	var out []*Element
	doc.Root().Walk(func(e *Element) bool {
		if IsOVF(e, "VirtualSystem") {
			out = append(out, e)
			return false
		}
		return true
	})
	return out
}

// HardwareSections returns the VirtualHardwareSections of a VirtualSystem.
func HardwareSections(vs *Element) []*Element {
	var out []*Element
	for _, c := range vs.Children() {
		if IsOVF(c, "VirtualHardwareSection") {
			out = append(out, c)
		}
	}
	return out
}

// AllHardwareSections returns the hardware sections of every
// VirtualSystem.
func AllHardwareSections(doc *Document) []*Element {
	var out []*Element
	for _, vs := range VirtualSystems(doc) {
		out = append(out, HardwareSections(vs)...)
	}
	return out
}

// SectionItems returns a hardware section's items in order.
func SectionItems(hw *Element) []Item {
	var out []Item
	for _, c := range hw.Children() {
		if IsItem(c) {
			out = append(out, ReadItem(c))
		}
	}
	return out
}

// Items returns the items of every hardware section.
func Items(doc *Document) []Item {
	var out []Item
	for _, hw := range AllHardwareSections(doc) {
		out = append(out, SectionItems(hw)...)
	}
	return out
}

// VMwConfigs returns the vmw:Config (kind "Config") or vmw:ExtraConfig
// elements inside a hardware section and its items.
func VMwConfigs(hw *Element, kind string) []*Element {
	var out []*Element
	hw.Walk(func(e *Element) bool {
		if e.Name.Space == NamespaceVMW && e.Name.Local == kind {
			out = append(out, e)
		}
		return true
	})
	return out
}

// VMwKey reads a vmw:Config or vmw:ExtraConfig element's key and value.
func VMwKey(e *Element) (key, value string) {
	key, _ = e.Attr(NamespaceVMW, "key")
	value, _ = e.Attr(NamespaceVMW, "value")
	return key, value
}
