package hardware

import "strings"

// Network adapter names, as vSphere and QEMU both spell them.
const (
	VMXNET3 = "vmxnet3"
	E1000E  = "e1000e"
	E1000   = "e1000"
)

// NIC is a virtual network adapter (ResourceType 10).
type NIC struct {
	Name string
	// SubType is the rasd:ResourceSubType a vSphere export writes, also
	// the first word of the item's Description.
	SubType string
	// QEMUModel is the -device model with the same guest hardware.
	QEMUModel  string
	MinVersion int
	What       string
}

var nics = []NIC{
	{VMXNET3, "VmxNet3", "vmxnet3", 7, "VMXNET3 network adapter"}, // ESX 4.0
	{E1000E, "E1000e", "e1000e", 8, "E1000e network adapter"},     // ESXi 5.0
	{E1000, "E1000", "e1000", 4, "E1000 network adapter"},
}

// NICs returns every network adapter the catalog knows.
func NICs() []NIC { return append([]NIC(nil), nics...) }

// LookupNIC finds an adapter by name or OVF subtype, case-insensitively.
func LookupNIC(name string) (NIC, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, a := range nics {
		if n == a.Name || n == strings.ToLower(a.SubType) {
			return a, true
		}
	}
	return NIC{}, false
}
