package vsphereova

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func TestWaitIP(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	vm := simvm.Import(t, simvm.Login(t, srv), "ip")
	if err := vsphere.WaitTask(t.Context(), "power on", vm.PowerOn); err != nil {
		t.Fatal(err)
	}
	cfg := &WaitIPConfig{WaitTimeout: 300 * time.Millisecond, SettleTimeout: 10 * time.Millisecond}

	// Tools report no address: the step gives up at ip_wait_timeout.
	r := newStepRun(t)
	r.state.Put("vm", &vsphere.Machine{VM: vm})
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
	r.state.Put("vm", &vsphere.Machine{VM: vm})
	r.must(&stepWaitIP{config: cfg})
	if ip := r.state.Get("ip"); ip != "10.1.2.3" {
		t.Errorf("ip = %v", ip)
	}
	if gd := r.state.Get("generated_data").(map[string]interface{}); gd["Host"] != "10.1.2.3" {
		t.Errorf("generated_data = %v, want Host", gd)
	}
}
