// Package vmdk writes and reads VMware sparse disks.
//
// Write turns raw disk bytes (any io.ReaderAt of known size) into a
// streamOptimized VMDK laid out the way VMware's own stream writers lay it
// out (the "Virtual Disk Format 5.0" technote, VMware's NFC StreamVmdkWriter,
// open-vmdk): a version 3 header with the grain directory "at end", the
// embedded descriptor, DEFLATE grains (zlib framing), each grain table right
// after the grains it indexes, then the grain directory, a footer and the
// end-of-stream marker as the file's last 512 bytes. All-zero grains are
// never stored. Compression runs on every core through a bounded pipeline,
// so memory does not grow with the disk.
//
// Open reads sparse extents (streamOptimized from VMware, qemu-img or
// VMDKstream, and the monolithicSparse extents VMware Workstation and
// vmware-iso write) as an io.ReaderAt; NewStreamReader decodes a
// streamOptimized VMDK front to back from an io.Reader, and its DecodeTo
// inflates the grains on every core into an io.WriterAt (a sparse file),
// reading the stream once, in order. OpenExtents reads the disk a text
// descriptor lays out in extents. The qcow2 reader (OpenQCOW2) lives here
// for now, beside the inflater it shares; package disk is the front door
// that decides an input's format and opens it.
//
// Every size or offset read from a file is checked against the file's size
// and fixed limits before it is used, and errors say at which byte offset the
// input went wrong (FormatError).
package vmdk
