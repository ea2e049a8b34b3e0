// Package vcsim runs govmomi's vCenter/ESXi simulator (vcsim) on 127.0.0.1
// with the pieces a "build from OVA" builder needs and vcsim lacks:
//
//   - NFC uploads are stored: bytes POSTed/PUT to an ImportVApp lease are kept
//     as the VM's disk backing file in the simulator's datastore folder
//     (vcsim itself only hashes them).
//   - VirtualMachine.ExportVm returns an HttpNfcLease that serves those stored
//     files back (GET, with Range support); progress, complete, abort and
//     getManifest work.
//   - OvfManager.CreateDescriptor writes an OVF descriptor from the VM's
//     configuration (CPU, memory, controllers, disks, NICs, CD-ROMs, firmware)
//     and the ovfFiles the caller passes.
//   - Aborting an import lease destroys the half-imported VM, as vCenter does.
//   - Session timeout: Options.SessionTimeout drops idle sessions, as
//     vCenter does (vcsim keeps them forever by default).
//   - VMware Tools IP: AutoGuestIP/SetGuestIP make guest.ipAddress, guest.net
//     and the tools status report an address, so WaitForIP/WaitForNetIP return.
//
// What this can prove: the client side of a builder — SOAP calls, their order,
// property waits, lease handling (wait, updater, progress, complete, abort),
// HTTP transfers in both directions, byte-for-byte round trips, cleanup of the
// inventory, and that our descriptor parses (govmomi, our ovf package,
// virt-v2v).
//
// What it cannot prove: anything about disk formats (the export returns the
// exact bytes that were uploaded; real vCenter re-encodes the disk as a new
// streamOptimized VMDK, and grown disks are exported at their new size), the
// exact descriptor vCenter writes (ours is generated here, not by vCenter:
// element order, vmw:ExtraConfig, ProductSection and vendor extensions differ),
// lease timing (leases are ready at once, never time out, and progress is only
// recorded), NVRAM export, authentication/permissions, and real guest
// behaviour (there is no guest: the IP is whatever the test sets).
package vcsim
