package vsphere

import (
	"net"
	"testing"
)

func TestPickIP(t *testing.T) {
	_, n, _ := net.ParseCIDR("192.168.0.0/16")
	addrs := []string{"fe80::1", "2001:db8::5", "169.254.1.1", "10.0.0.5", "192.168.7.9"}
	if got := pickIP(addrs, nil); got != "10.0.0.5" {
		t.Errorf("no filter: %q, want the first routable IPv4", got)
	}
	if got := pickIP(addrs, n); got != "192.168.7.9" {
		t.Errorf("ip_wait_address 192.168.0.0/16: %q", got)
	}
	if got := pickIP([]string{"fe80::1", "2001:db8::5"}, nil); got != "2001:db8::5" {
		t.Errorf("IPv6 only: %q", got)
	}
	_, n6, _ := net.ParseCIDR("172.16.0.0/12")
	if got := pickIP(addrs, n6); got != "" {
		t.Errorf("no match: %q, want none", got)
	}
}
