package vcsim

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// The descriptor's VirtualHardwareSection items, one method per kind of
// device, in the shape vCenter writes them.

func (w *descWriter) cpuMemory(v vmSnapshot) {
	cpuID, memID := w.next(), w.next()
	// vCenter writes the socket layout as vmw:CoresPerSocket in the CPU item.
	cores := ""
	if v.coresPerSocket > 0 {
		cores = fmt.Sprintf("\n        <vmw:CoresPerSocket ovf:required=\"false\">%d</vmw:CoresPerSocket>", v.coresPerSocket)
	}
	fmt.Fprintf(&w.items, `      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:Description>Number of Virtual CPUs</rasd:Description>
        <rasd:ElementName>%d virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>%d</rasd:VirtualQuantity>%s
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:Description>Memory Size</rasd:Description>
        <rasd:ElementName>%dMB of memory</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>%d</rasd:VirtualQuantity>
      </Item>
`, v.cpus, cpuID, v.cpus, cores, v.memoryMB, memID, v.memoryMB)
}

// controllers come first: disks and CD-ROMs name them as rasd:Parent.
func (w *descWriter) controllers(devices object.VirtualDeviceList) {
	w.parents, w.ide = map[int32]int{}, map[int32]bool{}
	for _, d := range devices {
		rtype, subtype, label := controllerKind(d)
		if rtype == 0 {
			continue
		}
		id := w.next()
		dev := d.GetVirtualDevice()
		w.parents[dev.Key] = id
		if rtype == 5 {
			w.ide[dev.Key] = true
		}
		bus := int32(0)
		if c, ok := d.(types.BaseVirtualController); ok {
			bus = c.GetVirtualController().BusNumber
		}
		sub := ""
		if subtype != "" {
			sub = fmt.Sprintf("\n        <rasd:ResourceSubType>%s</rasd:ResourceSubType>", subtype)
		}
		fmt.Fprintf(&w.items, `      <Item>
        <rasd:Address>%d</rasd:Address>
        <rasd:Description>%s</rasd:Description>
        <rasd:ElementName>%s %d</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>%s
        <rasd:ResourceType>%d</rasd:ResourceType>
      </Item>
`, bus, label, label, bus, id, sub, rtype)
	}
}

func (w *descWriter) devices(devices object.VirtualDeviceList) error {
	for _, d := range devices {
		switch x := d.(type) {
		case *types.VirtualDisk:
			if err := w.disk(x); err != nil {
				return err
			}
		case *types.VirtualCdrom:
			w.cdrom(x)
		case types.BaseVirtualEthernetCard:
			w.nic(d, x)
		}
	}
	return nil
}

func (w *descWriter) disk(x *types.VirtualDisk) error {
	dev := x.GetVirtualDevice()
	parent, ok := w.parents[dev.ControllerKey]
	if !ok {
		return fmt.Errorf("disk %d of VM %s sits on controller %d, which has no OVF equivalent", dev.Key, w.vm, dev.ControllerKey)
	}
	w.ndisk++
	diskID := fmt.Sprintf("vmdisk%d", w.ndisk)
	capacity := x.CapacityInBytes
	if capacity == 0 {
		capacity = x.CapacityInKB * 1024
	}
	fileRef := ""
	if f, ok := w.files[w.diskKey[dev.Key]]; ok {
		fileID := fmt.Sprintf("file%d", w.ndisk)
		fileRef = fmt.Sprintf(` ovf:fileRef="%s"`, fileID)
		fmt.Fprintf(&w.refs, "    <File ovf:href=\"%s\" ovf:id=\"%s\" ovf:size=\"%d\"/>\n", esc(f.Path), fileID, f.Size)
		if f.PopulatedSize != 0 {
			fileRef += fmt.Sprintf(` ovf:populatedSize="%d"`, f.PopulatedSize)
		}
	}
	fmt.Fprintf(&w.disks, "    <Disk ovf:capacity=\"%d\" ovf:capacityAllocationUnits=\"byte\" ovf:diskId=\"%s\"%s ovf:format=\"http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized\"/>\n",
		capacity, diskID, fileRef)
	fmt.Fprintf(&w.items, `      <Item>
        <rasd:AddressOnParent>%d</rasd:AddressOnParent>
        <rasd:ElementName>Hard disk %d</rasd:ElementName>
        <rasd:HostResource>ovf:/disk/%s</rasd:HostResource>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:Parent>%d</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
`, unit(dev), w.ndisk, diskID, w.next(), parent)
	return nil
}

// cdrom writes an empty drive, as vCenter does without image files; only
// on IDE.
func (w *descWriter) cdrom(x *types.VirtualCdrom) {
	dev := x.GetVirtualDevice()
	if !w.ide[dev.ControllerKey] {
		return
	}
	w.ncd++
	fmt.Fprintf(&w.items, `      <Item ovf:required="false">
        <rasd:AddressOnParent>%d</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>false</rasd:AutomaticAllocation>
        <rasd:ElementName>CD/DVD drive %d</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:Parent>%d</rasd:Parent>
        <rasd:ResourceSubType>vmware.cdrom.remotepassthrough</rasd:ResourceSubType>
        <rasd:ResourceType>15</rasd:ResourceType>
      </Item>
`, unit(dev), w.ncd, w.next(), w.parents[dev.ControllerKey])
}

func (w *descWriter) nic(d types.BaseVirtualDevice, x types.BaseVirtualEthernetCard) {
	network := w.s.networkName(x.GetVirtualEthernetCard().Backing)
	if !slices.Contains(w.networks, network) {
		w.networks = append(w.networks, network)
	}
	w.nnic++
	fmt.Fprintf(&w.items, `      <Item>
        <rasd:AddressOnParent>%d</rasd:AddressOnParent>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Connection>%s</rasd:Connection>
        <rasd:Description>%s ethernet adapter on &quot;%s&quot;</rasd:Description>
        <rasd:ElementName>Network adapter %d</rasd:ElementName>
        <rasd:InstanceID>%d</rasd:InstanceID>
        <rasd:ResourceSubType>%s</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
`, 6+w.nnic, esc(network), nicKind(d), esc(network), w.nnic, w.next(), nicKind(d))
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
