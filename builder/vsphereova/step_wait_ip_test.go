package vsphereova

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
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

func TestWaitIP(t *testing.T) {
	srv := startSim(t, vcsim.ModeESXi)
	vm := importTiny(t, simClient(t, srv), "ip")
	if err := waitTask(t.Context(), "power on", vm.PowerOn); err != nil {
		t.Fatal(err)
	}
	cfg := &WaitIPConfig{WaitTimeout: 300 * time.Millisecond, SettleTimeout: 10 * time.Millisecond}

	// Tools report no address: the step gives up at ip_wait_timeout.
	r := newStepRun(t)
	r.state.Put("vm", vm)
	if r.run(&stepWaitIP{config: cfg}) == multistep.ActionContinue {
		t.Fatal("got an IP from a VM that reports none")
	}
	if err, _ := r.state.Get("error").(error); err == nil || !strings.Contains(err.Error(), "no IP address after ip_wait_timeout = 300ms") {
		t.Errorf("err = %v", err)
	}

	if err := srv.SetGuestIP("ip", "10.1.2.3"); err != nil {
		t.Fatal(err)
	}
	cfg.WaitTimeout = time.Minute
	r = newStepRun(t)
	r.state.Put("vm", vm)
	r.must(&stepWaitIP{config: cfg})
	if ip := r.state.Get("ip"); ip != "10.1.2.3" {
		t.Errorf("ip = %v", ip)
	}
	if gd := r.state.Get("generated_data").(map[string]interface{}); gd["Host"] != "10.1.2.3" {
		t.Errorf("generated_data = %v, want Host", gd)
	}
}
