package vsphereova

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
)

// keepAliveInterval is how often the session is refreshed. vCenter drops a
// session idle for 30 minutes by default (config.vmacore.soap.sessionTimeout,
// which admins often lower), and a long provisioner talks to the guest, not to
// vCenter: without this, shutdown and export would fail with
// NotAuthenticated. A variable so that the simulator test can shorten it.
var keepAliveInterval = 5 * time.Minute

// stepConnect logs in to vCenter or ESXi and keeps the session alive until
// Cleanup logs out.
type stepConnect struct{ config *ConnectConfig }

func (s *stepConnect) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	c, err := connect(ctx, s.config)
	if err != nil {
		return halt(state, err)
	}
	state.Put("client", c)
	kind := "standalone ESXi host"
	if c.IsVC() {
		kind = "vCenter Server"
	}
	ui.Say(fmt.Sprintf("Connected to %s %s", kind, c.URL().Host))
	return multistep.ActionContinue
}

// Cleanup logs out, which also stops the keep-alive.
func (s *stepConnect) Cleanup(state multistep.StateBag) {
	c, ok := state.GetOk("client")
	if !ok {
		return
	}
	ctx, cancel := cleanupContext()
	defer cancel()
	if err := session.NewManager(c.(*vim25.Client)).Logout(ctx); err != nil {
		log.Printf("vSphere logout: %v", err)
	}
}

func connect(ctx context.Context, cfg *ConnectConfig) (*vim25.Client, error) {
	u, err := serverURL(cfg.VCenterServer)
	if err != nil {
		return nil, fmt.Errorf("vcenter_server %q: %w", cfg.VCenterServer, err)
	}
	sc := soap.NewClient(u, cfg.InsecureConnection)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w (for a self-signed certificate set insecure_connection = true)", u.Host, err)
	}
	// The handler starts its timer when the Login below passes through it and
	// stops it on Logout.
	c.RoundTripper = keepalive.NewHandlerSOAP(sc, keepAliveInterval, func() error { return keepAlive(sc, u.Host) })
	if err := session.NewManager(c).Login(ctx, url.UserPassword(cfg.Username, cfg.Password)); err != nil {
		return nil, fmt.Errorf("logging in to %s as %q: %w", u.Host, cfg.Username, err)
	}
	return c, nil
}

// keepAlive makes the cheapest authenticated call. A failure is logged and
// not returned: the handler would stop for good on an error, and one network
// hiccup must not end the keep-alives for the rest of a long build.
func keepAlive(rt soap.RoundTripper, host string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := methods.GetCurrentTime(ctx, rt); err != nil {
		log.Printf("[WARN] vSphere session keep-alive to %s: %v", host, err)
	}
	return nil
}
