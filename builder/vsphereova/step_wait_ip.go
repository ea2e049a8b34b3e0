package vsphereova

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
)

// pollInterval is how often the guest's addresses are read.
var pollInterval = time.Second

// stepWaitIP waits until VMware Tools report an address that stays the same
// for ip_settle_timeout, and publishes it as "ip" and build.Host (also with
// communicator = "none").
type stepWaitIP struct{ config *WaitIPConfig }

func (s *stepWaitIP) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*object.VirtualMachine)
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Waiting up to %s for an IP address from VMware Tools ...", s.config.WaitTimeout))
	wctx, cancel := context.WithTimeout(ctx, s.config.WaitTimeout)
	defer cancel()
	var last string
	var since time.Time
	for {
		ip, err := guestIP(wctx, vm, s.config.waitNet)
		if err != nil && wctx.Err() == nil {
			return halt(state, fmt.Errorf("reading the guest's IP addresses: %w", err))
		}
		if ip != "" && ip == last && time.Since(since) >= s.config.SettleTimeout {
			ui.Say("IP address: " + ip)
			state.Put("ip", ip)
			if gd, ok := state.Get("generated_data").(map[string]interface{}); ok {
				gd["Host"] = ip
			}
			return multistep.ActionContinue
		}
		if ip != last {
			last, since = ip, time.Now()
		}
		select {
		case <-wctx.Done():
			if ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
				return halt(state, fmt.Errorf("no IP address after ip_wait_timeout = %s (is VMware Tools running in the guest? does ip_wait_address match?)", s.config.WaitTimeout))
			}
			return halt(state, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

func (s *stepWaitIP) Cleanup(multistep.StateBag) {}

func guestIP(ctx context.Context, vm *object.VirtualMachine, filter *net.IPNet) (string, error) {
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"guest.ipAddress", "guest.net"}, &o); err != nil {
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
