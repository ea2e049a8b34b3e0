package vcsim

import (
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// powerWatcher is a registry observer: it sees every power state change,
// whichever SOAP method caused it, and fakes what VMware Tools would report.
type powerWatcher struct {
	s *Server
}

func (p *powerWatcher) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "OvakitPowerWatcher", Value: "ovakit-power-watcher"}
}

func (p *powerWatcher) PutObject(*simulator.Context, mo.Reference)                    {}
func (p *powerWatcher) RemoveObject(*simulator.Context, types.ManagedObjectReference) {}

func (p *powerWatcher) UpdateObject(_ *simulator.Context, o mo.Reference, changes []types.PropertyChange) {
	ref := o.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	for _, c := range changes {
		if c.Name != "runtime.powerState" {
			continue
		}
		state, _ := c.Val.(types.VirtualMachinePowerState)
		s := p.s
		s.mu.Lock()
		ip, closed := s.autoIP, s.closed
		if !closed {
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if closed {
			return
		}
		// The caller holds the VM's lock: update from another goroutine.
		go func() {
			defer s.wg.Done()
			switch {
			case state == types.VirtualMachinePowerStatePoweredOn && ip != "":
				s.setGuest(ref, ip)
			case state == types.VirtualMachinePowerStatePoweredOff:
				s.clearGuest(ref)
			}
		}()
	}
}

// setGuest reports ip on every NIC of a powered-on VM, with Tools running.
// It returns false when the VM is gone or not powered on.
func (s *Server) setGuest(ref types.ManagedObjectReference, ip string) bool {
	vm, ok := s.Model.Map().Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return false
	}
	ctx := s.lockCtx()
	done := false
	ctx.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Config == nil {
			return
		}
		var nics []types.GuestNicInfo
		devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
		for _, d := range devices.SelectByType((*types.VirtualEthernetCard)(nil)) {
			card := d.(types.BaseVirtualEthernetCard).GetVirtualEthernetCard()
			network := ""
			if b, ok := card.Backing.(*types.VirtualEthernetCardNetworkBackingInfo); ok {
				network = b.DeviceName
			}
			nics = append(nics, types.GuestNicInfo{
				Network:        network,
				IpAddress:      []string{ip},
				MacAddress:     card.MacAddress,
				Connected:      true,
				DeviceConfigId: card.Key,
				IpConfig: &types.NetIpConfigInfo{IpAddress: []types.NetIpConfigInfoIpAddress{{
					IpAddress:    ip,
					PrefixLength: prefixLen(ip),
					State:        string(types.NetIpConfigInfoIpAddressStatusPreferred),
				}}},
			})
		}
		ctx.Update(vm, []types.PropertyChange{
			{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
			{Name: "guest.guestState", Val: "running"},
			{Name: "guest.ipAddress", Val: ip},
			{Name: "guest.net", Val: nics},
			{Name: "summary.guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsOk},
			{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)},
			{Name: "summary.guest.ipAddress", Val: ip},
		})
		done = true
	})
	return done
}

// clearGuest is what vSphere shows after power off: no Tools, no IP.
func (s *Server) clearGuest(ref types.ManagedObjectReference) {
	vm, ok := s.Model.Map().Get(ref).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	ctx := s.lockCtx()
	ctx.WithLock(vm, func() {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff || vm.Guest == nil || vm.Guest.IpAddress == "" {
			return
		}
		ctx.Update(vm, []types.PropertyChange{
			{Name: "guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
			{Name: "guest.guestState", Val: "notRunning"},
			{Name: "guest.ipAddress", Val: ""},
			{Name: "guest.net", Val: []types.GuestNicInfo{}},
			{Name: "summary.guest.toolsStatus", Val: types.VirtualMachineToolsStatusToolsNotRunning},
			{Name: "summary.guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsNotRunning)},
			{Name: "summary.guest.ipAddress", Val: ""},
		})
	})
}

func prefixLen(ip string) int32 {
	for i := 0; i < len(ip); i++ {
		if ip[i] == ':' {
			return 64
		}
	}
	return 24
}
