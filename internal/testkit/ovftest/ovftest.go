// Package ovftest holds real-shaped OVF descriptors for tests and a checker
// that applies VirtualBox's OVF import rules. It stands in for exports we
// cannot make here (no vCenter): the descriptors follow what vCenter 8
// writes for `export {}`, as seen in govmomi's collection of real exports
// (ovf/fixtures/external: VM_with_nvram, new_vm_nvram_iso, SimpleVm).
package ovftest

import (
	_ "embed"
)

//go:embed testdata/basic.ovf
var basic []byte

//go:embed testdata/efi.ovf
var efi []byte

// Basic is the shape internal/testkit/fixture writes: BIOS, vmx-13, LSI Logic SCSI,
// one disk, VMXNET3, no .nvram. Its disk is basic-vm-disk-0.vmdk.
func Basic() []byte { return append([]byte(nil), basic...) }

// EFI is a vSphere 8 export of an EFI guest: vmx-21, Secure Boot, a .nvram
// file referenced by vmw:ExtraConfig, PVSCSI disk, SATA AHCI controller with
// a CD-ROM on it, USB xHCI, serial port, video card, VMCI, a storage-policy
// vendor section, comments and a vmw:BootOrderSection.
func EFI() []byte { return append([]byte(nil), efi...) }

// Descriptors returns every fixture by name.
func Descriptors() map[string][]byte {
	return map[string][]byte{"basic": Basic(), "efi": EFI()}
}
