// Package disk is the one front door to disk images: Probe says what a
// file holds (format, capacity, backing file, the extents a VMDK descriptor
// names) and Open opens it for reading as a virtual disk, both deciding the
// format by the same first bytes (sniff), whatever the file's extension.
//
// The plugin reads raw, qcow2 and VMDK itself (the vmdk package holds the
// VMDK readers and writer, as govmomi keeps its vmdk package to VMDK);
// VHD, VHDX, VDI, QED and Parallels images, and the qcow2 and VMDK images
// the native readers refuse, are converted to a temporary raw file with
// qemu-img when it is installed. That policy lives here, so a post-processor
// that classifies an artifact and the conversion that follows cannot
// disagree on a file.
package disk
