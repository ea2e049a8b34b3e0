package vsphereova

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// pollInterval is how often the guest's addresses are read.
var pollInterval = time.Second

// stepWaitIP waits until VMware Tools report an address that stays the same
// for ip_settle_timeout, and publishes it as "ip" and build.Host (also with
// communicator = "none").
type stepWaitIP struct{ config *WaitIPConfig }

func (s *stepWaitIP) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*vsphere.Machine)
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Waiting up to %s for an IP address from VMware Tools ...", s.config.WaitTimeout))
	wctx, cancel := context.WithTimeout(ctx, s.config.WaitTimeout)
	defer cancel()
	var last string
	var since time.Time
	for {
		ip, err := vm.GuestIP(wctx, s.config.waitNet)
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
