package vsphere

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/url"
	"strings"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/session/keepalive"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
)

// ConnectOptions are the connection options (vcenter_server, username,
// password, insecure_connection).
type ConnectOptions struct {
	Server, Username, Password string
	Insecure                   bool
}

// KeepAliveInterval is how often the session is refreshed. vCenter drops a
// session idle for 30 minutes by default (config.vmacore.soap.sessionTimeout,
// which admins often lower), and a long provisioner talks to the guest, not to
// vCenter: without this, shutdown and export would fail with
// NotAuthenticated. A variable so that the simulator test can shorten it.
var KeepAliveInterval = 5 * time.Minute

// Connect logs in to the vCenter Server or ESXi host o names and keeps the
// session alive until Logout. Errors name the option to change.
func Connect(ctx context.Context, o ConnectOptions) (*vim25.Client, error) {
	u, err := ServerURL(o.Server)
	if err != nil {
		return nil, fmt.Errorf("vcenter_server %q: %w", o.Server, err)
	}
	sc := soap.NewClient(u, o.Insecure)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w (for a self-signed certificate set insecure_connection = true)", u.Host, err)
	}
	// The handler starts its timer when the Login below passes through it and
	// stops it on Logout.
	c.RoundTripper = keepalive.NewHandlerSOAP(sc, KeepAliveInterval, func() error { return keepAlive(sc, u.Host) })
	if err := session.NewManager(c).Login(ctx, url.UserPassword(o.Username, o.Password)); err != nil {
		return nil, fmt.Errorf("logging in to %s as %q: %w", u.Host, o.Username, err)
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

// Logout ends the session (and with it the keep-alive), on a fresh context:
// the build's may be cancelled.
func Logout(c *vim25.Client) error {
	ctx, cancel := CleanupContext()
	defer cancel()
	return session.NewManager(c).Logout(ctx)
}

// ServerURL turns vcenter_server into the SDK endpoint URL (without credentials).
func ServerURL(s string) (*url.URL, error) {
	raw := s
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, errors.New("no host name")
	}
	if u.User != nil {
		return nil, errors.New("put the user name and password in username and password, not in the URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	return u, nil
}
