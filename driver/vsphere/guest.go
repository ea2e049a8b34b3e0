package vsphere

import (
	"context"
	"net"

	"github.com/vmware/govmomi/vim25/mo"
)

// GuestIP is the address VMware Tools report that pickIP chooses ("" while
// none fits).
func (m *Machine) GuestIP(ctx context.Context, filter *net.IPNet) (string, error) {
	var o mo.VirtualMachine
	if err := m.VM.Properties(ctx, m.VM.Reference(), []string{"guest.ipAddress", "guest.net"}, &o); err != nil {
		return "", err
	}
	var all []string
	if o.Guest != nil {
		for _, n := range o.Guest.Net {
			all = append(all, n.IpAddress...)
		}
		if o.Guest.IpAddress != "" {
			all = append(all, o.Guest.IpAddress)
		}
	}
	return pickIP(all, filter), nil
}

// pickIP returns the first address inside filter, or without a filter the
// first IPv4 address, else the first other one. Link-local addresses are
// never picked: they are not reachable from the build host.
func pickIP(addrs []string, filter *net.IPNet) string {
	var other string
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil || ip.IsLinkLocalUnicast() {
			continue
		}
		if filter != nil {
			if filter.Contains(ip) {
				return a
			}
			continue
		}
		if ip.To4() != nil {
			return a
		}
		if other == "" {
			other = a
		}
	}
	return other
}
