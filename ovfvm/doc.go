// Package ovfvm writes the OVF descriptor for an artifact that has disks
// but no OVF (Packer's qemu builder, vmware-iso, file or artifice), from
// the post-processor's `vm { ... }` block: Config holds the options,
// Classify tells what an artifact's files are (an .ovf, a .vmx with its
// VMDKs, or raw/qcow2/VMDK disk images recognized by their headers),
// Config.Resolve fills unset options from a .vmx and orders the disks, and
// Generate writes an OVF 1.0 descriptor shaped as vCenter's export of the
// same VM, ready for ovftarget.Customize and the packer.
//
// It has no Packer imports except the generated HCL2 spec that lets the
// post-processor decode Config as a block.
package ovfvm
