package vcsim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// CreateDescriptor writes an OVF descriptor for req.Obj (a VM).
func (x *extension) CreateDescriptor(ctx *simulator.Context, req *types.CreateDescriptor) soap.HasFault {
	body := new(methods.CreateDescriptorBody)
	vm, ok := ctx.Map.Get(req.Obj).(*simulator.VirtualMachine)
	if !ok {
		body.Fault_ = simulator.Fault(fmt.Sprintf("CreateDescriptor: %s is not a virtual machine", req.Obj),
			&types.ManagedObjectNotFound{Obj: req.Obj})
		return body
	}
	desc, err := x.s.descriptor(vm, req.Cdp)
	if err != nil {
		body.Fault_ = simulator.Fault(err.Error(), &types.InvalidArgument{InvalidProperty: "cdp.ovfFiles"})
		return body
	}
	body.Res = &types.CreateDescriptorResponse{Returnval: types.OvfCreateDescriptorResult{OvfDescriptor: desc}}
	return body
}

// vmSnapshot is the part of a VM's state the descriptor needs, copied under
// the VM's lock.
type vmSnapshot struct {
	name, guestID, version, firmware, annotation string
	cpus                                         int32
	memoryMB                                     int32
	devices                                      object.VirtualDeviceList
}

func (s *Server) descriptor(vm *simulator.VirtualMachine, cdp types.OvfCreateDescriptorParams) (string, error) {
	var v vmSnapshot
	s.Model.Map().WithLock(s.lockCtx(), vm, func() {
		v.name = vm.Name
		if c := vm.Config; c != nil {
			v.guestID, v.version, v.firmware, v.annotation = c.GuestId, c.Version, c.Firmware, c.Annotation
			v.cpus, v.memoryMB = c.Hardware.NumCPU, c.Hardware.MemoryMB
			v.devices = append(v.devices, c.Hardware.Device...)
		}
	})
	if cdp.Name != "" {
		v.name = cdp.Name
	}
	if cdp.Description != "" {
		v.annotation = cdp.Description
	}

	// Disk keys as ExportVm hands them out, so callers pass item.DeviceId back.
	diskKey := map[int32]string{}
	for _, f := range s.vmFiles(vm) {
		if f.disk {
			diskKey[f.device.GetVirtualDevice().Key] = f.key
		}
	}
	byKey := map[string]types.OvfFile{}
	for i, f := range cdp.OvfFiles {
		known := false
		for _, k := range diskKey {
			known = known || k == f.DeviceId
		}
		if !known {
			keys := make([]string, 0, len(diskKey))
			for _, k := range diskKey {
				keys = append(keys, k)
			}
			return "", fmt.Errorf("ovfFiles[%d].deviceId %q is not a disk of VM %s (disk ids: %v; pass the lease's deviceUrl key)", i, f.DeviceId, vm.Self.Value, keys)
		}
		if f.Path == "" || strings.ContainsAny(f.Path, "/\\") {
			return "", fmt.Errorf("ovfFiles[%d].path %q must be a plain file name", i, f.Path)
		}
		byKey[f.DeviceId] = f
	}

	var refs, disks, nets, items bytes.Buffer
	instance := 0
	next := func() int { instance++; return instance }

	cpuID, memID := next(), next()
	fmt.Fprintf(&items, `      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>%d virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>%d</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>%dMB of memory</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>%d</rasd:VirtualQuantity>
      </Item>
`, v.cpus, cpuID, v.cpus, v.memoryMB, memID, v.memoryMB)

	// Controllers first: disks and CD-ROMs name them as rasd:Parent.
	controllers := map[int32]int{} // device key -> InstanceID
	ide := map[int32]bool{}
	for _, d := range v.devices {
		rtype, subtype, label := controllerKind(d)
		if rtype == 0 {
			continue
		}
		id := next()
		dev := d.GetVirtualDevice()
		controllers[dev.Key] = id
		if rtype == 5 {
			ide[dev.Key] = true
		}
		bus := int32(0)
		if c, ok := d.(types.BaseVirtualController); ok {
			bus = c.GetVirtualController().BusNumber
		}
		sub := ""
		if subtype != "" {
			sub = fmt.Sprintf("\n        <rasd:ResourceSubType>%s</rasd:ResourceSubType>", subtype)
		}
		fmt.Fprintf(&items, `      <Item>
        <rasd:Address>%d</rasd:Address>
        <rasd:Description>%s</rasd:Description>
        <rasd:ElementName>%s %d</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>%s
        <rasd:ResourceType>%d</rasd:ResourceType>
      </Item>
`, bus, label, label, bus, id, sub, rtype)
	}

	ndisk, nnic, ncd := 0, 0, 0
	networks := map[string]bool{}
	var netOrder []string
	for _, d := range v.devices {
		dev := d.GetVirtualDevice()
		switch x := d.(type) {
		case *types.VirtualDisk:
			parent, ok := controllers[dev.ControllerKey]
			if !ok {
				return "", fmt.Errorf("disk %d of VM %s sits on controller %d, which has no OVF equivalent", dev.Key, vm.Self.Value, dev.ControllerKey)
			}
			ndisk++
			diskID := fmt.Sprintf("vmdisk%d", ndisk)
			capacity := x.CapacityInBytes
			if capacity == 0 {
				capacity = x.CapacityInKB * 1024
			}
			fileRef := ""
			if f, ok := byKey[diskKey[dev.Key]]; ok {
				fileID := fmt.Sprintf("file%d", ndisk)
				fileRef = fmt.Sprintf(` ovf:fileRef="%s"`, fileID)
				fmt.Fprintf(&refs, "    <File ovf:href=\"%s\" ovf:id=\"%s\" ovf:size=\"%d\"/>\n", esc(f.Path), fileID, f.Size)
				if f.PopulatedSize != 0 {
					fileRef += fmt.Sprintf(` ovf:populatedSize="%d"`, f.PopulatedSize)
				}
			}
			fmt.Fprintf(&disks, "    <Disk ovf:capacity=\"%d\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"%s\"%s ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/>\n",
				capacity, diskID, fileRef)
			fmt.Fprintf(&items, `      <Item>
        <rasd:AddressOnParent>%d</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk %d</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/%s</rasd:HostResource>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:Parent>%d</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
`, unit(dev), ndisk, diskID, next(), parent)
		case *types.VirtualCdrom:
			// Only on IDE: an empty drive, as vCenter writes without image files.
			if !ide[dev.ControllerKey] {
				continue
			}
			ncd++
			fmt.Fprintf(&items, `      <Item ovf:required="false">
        <rasd:AddressOnParent>%d</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>
        <rasd:ElementName>CD/DVD drive %d</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:Parent>%d</rasd:Parent>
        <rasd:ResourceSubType>vmware.cdrom.remotepassthrough</rasd:ResourceSubType>
        <rasd:ResourceType>15</rasd:ResourceType>
      </Item>
`, unit(dev), ncd, next(), controllers[dev.ControllerKey])
		case types.BaseVirtualEthernetCard:
			network := s.networkName(x.GetVirtualEthernetCard().Backing)
			if !networks[network] {
				networks[network] = true
				netOrder = append(netOrder, network)
			}
			nnic++
			fmt.Fprintf(&items, `      <Item>
        <rasd:AddressOnParent>%d</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>%s</rasd:Connection>
        <rasd:Description>%s ethernet adapter on &quot;%s&quot;</rasd:Description>
        <rasd:ElementName>Network adapter %d</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:ResourceSubType>%s</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
`, 6+nnic, esc(network), nicKind(d), esc(network), nnic, next(), nicKind(d))
		}
	}
	for _, n := range netOrder {
		fmt.Fprintf(&nets, "    <Network ovf:name=\"%s\">\n      <Description>The %s network</Description>\n    </Network>\n", esc(n), esc(n))
	}

	version := v.version
	if version == "" {
		version = "vmx-13"
	}
	var out bytes.Buffer
	out.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by the ovakit vcsim test support (not by vCenter). -->
<Envelope vmw:buildId="build-vcsim" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vmw="http://www.vmware.com/schema/ovf" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <References>
`)
	out.Write(refs.Bytes())
	out.WriteString("  </References>\n  <DiskSection>\n    <Info>Virtual disk information</Info>\n")
	out.Write(disks.Bytes())
	out.WriteString("  </DiskSection>\n")
	if len(netOrder) > 0 {
		out.WriteString("  <NetworkSection>\n    <Info>The list of logical networks</Info>\n")
		out.Write(nets.Bytes())
		out.WriteString("  </NetworkSection>\n")
	}
	fmt.Fprintf(&out, `  <VirtualSystem ovf:id="%s">
    <Info>A virtual machine</Info>
    <Name>%s</Name>
`, esc(v.name), esc(v.name))
	if v.annotation != "" {
		fmt.Fprintf(&out, "    <AnnotationSection>\n      <Info>A human-readable annotation</Info>\n      <Annotation>%s</Annotation>\n    </AnnotationSection>\n", esc(v.annotation))
	}
	fmt.Fprintf(&out, `    <OperatingSystemSection ovf:id="%d" vmw:osType="%s">
      <Info>The kind of installed guest operating system</Info>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>%s</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>%s</vssd:VirtualSystemType>
      </System>
`, cimOS(v.guestID), esc(v.guestID), esc(v.name), esc(version))
	out.Write(items.Bytes())
	if v.firmware != "" {
		fmt.Fprintf(&out, "      <vmw:Config ovf:required=\"false\" vmw:key=\"firmware\" vmw:value=\"%s\"/>\n", esc(v.firmware))
	}
	out.WriteString("    </VirtualHardwareSection>\n  </VirtualSystem>\n</Envelope>\n")
	return out.String(), nil
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func unit(d *types.VirtualDevice) int32 {
	if d.UnitNumber != nil {
		return *d.UnitNumber
	}
	return 0
}

// controllerKind returns the CIM resource type, subtype and label of a
// storage controller, or 0 for any other device.
func controllerKind(d types.BaseVirtualDevice) (int, string, string) {
	switch d.(type) {
	case *types.VirtualIDEController:
		return 5, "", "IDE Controller"
	case *types.VirtualLsiLogicController:
		return 6, "lsilogic", "SCSI Controller"
	case *types.VirtualLsiLogicSASController:
		return 6, "lsilogicsas", "SCSI Controller"
	case *types.ParaVirtualSCSIController:
		return 6, "VirtualSCSI", "SCSI Controller"
	case *types.VirtualBusLogicController:
		return 6, "buslogic", "SCSI Controller"
	case *types.VirtualAHCIController:
		return 20, "vmware.sata.ahci", "SATA Controller"
	case *types.VirtualNVMEController:
		return 20, "vmware.nvme.controller", "NVME Controller"
	}
	return 0, "", ""
}

func nicKind(d types.BaseVirtualDevice) string {
	switch d.(type) {
	case *types.VirtualVmxnet3:
		return "VmxNet3"
	case *types.VirtualE1000e:
		return "E1000e"
	case *types.VirtualPCNet32:
		return "PCNet32"
	case *types.VirtualVmxnet2:
		return "VmxNet2"
	}
	return "E1000"
}

// networkName returns the inventory name behind a NIC backing.
func (s *Server) networkName(b types.BaseVirtualDeviceBackingInfo) string {
	switch x := b.(type) {
	case *types.VirtualEthernetCardNetworkBackingInfo:
		return x.DeviceName
	case *types.VirtualEthernetCardDistributedVirtualPortBackingInfo:
		for _, e := range s.Model.Map().All("DistributedVirtualPortgroup") {
			if pg, ok := e.(*simulator.DistributedVirtualPortgroup); ok && pg.Key == x.Port.PortgroupKey {
				return pg.Name
			}
		}
		return x.Port.PortgroupKey
	}
	return "VM Network"
}

// cimOS maps a vSphere guest id to a CIM operating system id (DSP1043).
func cimOS(guestID string) int {
	g := strings.ToLower(guestID)
	linux := false
	for _, k := range []string{"linux", "ubuntu", "debian", "centos", "rhel", "sles", "fedora", "oracle", "photon", "rocky", "alma", "coreos", "amazon"} {
		linux = linux || strings.Contains(g, k)
	}
	switch {
	case linux && strings.Contains(g, "64"):
		return 101 // Linux 64-Bit
	case linux:
		return 36 // LINUX
	}
	return 1 // Other
}
