// Package hardware is the vSphere virtual hardware vocabulary the plugin's
// other packages share: disk controller and network adapter names with how
// an OVF writes each (CIM ResourceType and ResourceSubType), the QEMU device
// that stands in for it, the VMDK adapter type (ddb.adapterType) a disk
// behind it carries, and the lowest virtual hardware version (vmx-N) that
// has it; parsing and writing vmx-N; and OVF allocation units.
//
// It holds facts, not policy: which names an option accepts, and what a
// target does about a device, stay with the option and the target. It
// imports neither the Packer SDK nor the disk and OVF packages.
//
// Hardware versions are from VMware KB 1003746 "Virtual machine hardware
// versions" and vSphere's "Hardware Features Available with Virtual Machine
// Compatibility Settings"; the OVF spellings from vCenter 7/8 exports
// (govmomi ovf/fixtures, internal/testkit/ovftest/testdata) and DSP1041
// (CIM_ResourceAllocationSettingData).
package hardware
