package vcsim

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	_ "github.com/vmware/govmomi/vapi/simulator" // the vAPI endpoints Options.VAPI registers

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Modes accepted by Start.
const (
	ModeVCenter = "vcenter"
	ModeESXi    = "esxi"
)

// Server is a running simulator.
type Server struct {
	URL                *url.URL // https://user:pass@127.0.0.1:port/sdk
	Host               string   // 127.0.0.1:port
	Username, Password string
	Model              *simulator.Model

	srv  *simulator.Server
	mode string

	mu      sync.Mutex
	autoIP  string
	imports map[string]*importLease // lease moref value -> import lease
	exports map[string]*exportLease // lease moref value -> export lease
	closed  bool

	wg        sync.WaitGroup // guest-IP goroutines
	closeOnce sync.Once
	stop      chan struct{}
}

// Start creates an empty simulated vCenter ("vcenter": one datacenter, a
// cluster, hosts, datastore LocalDS_0, networks "VM Network" and a DVS
// portgroup) or standalone ESXi host ("esxi"), with no VMs, and serves it over
// TLS on 127.0.0.1 (random port). The server stops on Close or when ctx is done.
func Start(ctx context.Context, mode string) (*Server, error) {
	return StartWith(ctx, Options{Mode: mode})
}

// StartOn is Start with an explicit listen address, which must be a loopback
// address (the simulator accepts any login: never expose it).
func StartOn(ctx context.Context, mode, listen string) (*Server, error) {
	return StartWith(ctx, Options{Mode: mode, Listen: listen})
}

// Options configure StartWith.
type Options struct {
	// Mode is ModeVCenter or ModeESXi.
	Mode string
	// Listen is a loopback host:port; default 127.0.0.1:0.
	Listen string
	// SessionTimeout, when set, makes the server drop a session that made no
	// call for that long, as vCenter does (config.vmacore.soap.sessionTimeout,
	// 30 minutes by default there; vcsim keeps sessions forever otherwise).
	// An expired session's calls fail with NotAuthenticated. The check runs
	// every SessionTimeout, so a session expires after one to two timeouts
	// of idleness.
	SessionTimeout time.Duration
	// VAPI serves vCenter's REST API too (Content Library, update sessions,
	// OVF deploy of library items), as govmomi's vapi simulator implements
	// it. vCenter mode only.
	VAPI bool
	// Machines makes the simulator's own VMs (DC0_H0_VM0 ..., in vCenter
	// mode DC0_C0_RP0_VM0 ...), powered off, for templates that clone one
	// (HashiCorp's vsphere-clone). Default none.
	Machines int
}

// StartWith starts a simulator as Start does, with options.
func StartWith(ctx context.Context, o Options) (*Server, error) {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vcsim: not started: %w", err)
	}
	model, err := newModel(o)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Model:   model,
		mode:    o.Mode,
		imports: map[string]*importLease{},
		exports: map[string]*exportLease{},
		stop:    make(chan struct{}),
	}
	model.Service.RegisterEndpoints = o.VAPI
	s.serve(o.Listen)
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.stop:
		}
	}()
	return s, nil
}

func (o *Options) check() error {
	if o.SessionTimeout < 0 {
		return fmt.Errorf("vcsim: SessionTimeout %s is negative", o.SessionTimeout)
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return fmt.Errorf("vcsim: listen address %q: %w (want host:port, e.g. 127.0.0.1:0)", o.Listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("vcsim: listen address %q is not a loopback IP; the simulator accepts any login, use 127.0.0.1", o.Listen)
	}
	if o.VAPI && o.Mode != ModeVCenter {
		return fmt.Errorf("vcsim: the vAPI (VAPI) is vCenter's; set Mode to %q", ModeVCenter)
	}
	if o.Mode != ModeVCenter && o.Mode != ModeESXi {
		return fmt.Errorf("vcsim: unknown mode %q (want %q or %q)", o.Mode, ModeVCenter, ModeESXi)
	}
	return nil
}

// newModel creates the inventory. No pre-made VMs unless o.Machines asks:
// every VM in the inventory comes from the test, which makes "nothing left
// behind" assertions simple.
func newModel(o Options) (*simulator.Model, error) {
	model := simulator.ESX()
	if o.Mode == ModeVCenter {
		model = simulator.VPX()
	}
	model.Machine = o.Machines
	model.Autostart = false
	if err := model.Create(); err != nil {
		model.Remove()
		return nil, fmt.Errorf("vcsim: creating %s model: %w", o.Mode, err)
	}
	if o.SessionTimeout > 0 {
		setSessionTimeout(model, o.SessionTimeout)
	}
	return model, nil
}

// serve installs our handlers and starts the TLS server on listen.
func (s *Server) serve(listen string) {
	model := s.Model
	svc := model.Service
	svc.Listen = &url.URL{Host: listen}
	svc.TLS = new(tls.Config)
	// Our NFC handlers are registered before NewServer adds vcsim's own "/nfc/"
	// route; method-qualified patterns take precedence over it.
	svc.ServeMux = http.NewServeMux()
	svc.ServeMux.HandleFunc("PUT /nfc/", s.serveUpload)
	svc.ServeMux.HandleFunc("POST /nfc/", s.serveUpload)
	svc.ServeMux.HandleFunc("GET /nfc/", s.serveDownload)
	model.Map().Put(&extension{ExtensibleManagedObject: mo.ExtensibleManagedObject{Self: extensionRef}, s: s})
	model.Map().Handler = s.dispatch
	model.Map().AddHandler(&powerWatcher{s: s})

	s.srv = svc.NewServer()
	s.URL = s.srv.URL
	s.Host = s.srv.URL.Host
	s.Username = s.srv.URL.User.Username()
	s.Password, _ = s.srv.URL.User.Password()
}

// setSessionTimeout sets the option vcsim's session manager reads at each
// login. It runs before the server starts, so no request can race it. The
// settings slice is copied first: vcsim starts every model from one shared
// package-level default list.
func setSessionTimeout(model *simulator.Model, d time.Duration) {
	om := model.Map().OptionManager()
	const key = "config.vmacore.soap.sessionTimeout"
	settings := []types.BaseOptionValue{&types.OptionValue{Key: key, Value: d.String()}}
	for _, o := range om.Setting {
		if o.GetOptionValue().Key != key {
			settings = append(settings, o)
		}
	}
	om.Setting = settings
}

// Close stops the server and removes the simulator's datastore folders.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
		s.srv.Close()
		s.wg.Wait()
		s.Model.Remove()
	})
}

// AutoGuestIP makes every VM that powers on from now on report ip through
// VMware Tools. An empty ip turns this off.
func (s *Server) AutoGuestIP(ip string) {
	s.mu.Lock()
	s.autoIP = ip
	s.mu.Unlock()
}

// SetGuestIP makes the VMware Tools of the powered-on VM vmName report ip.
func (s *Server) SetGuestIP(vmName, ip string) error {
	if net.ParseIP(ip) == nil {
		return fmt.Errorf("vcsim: SetGuestIP(%q): %q is not an IP address", vmName, ip)
	}
	vm := s.findVM(vmName)
	if vm == nil {
		return fmt.Errorf("vcsim: SetGuestIP: no VM named %q (have %v)", vmName, s.VMNames())
	}
	if !s.setGuest(vm.Self, ip) {
		return fmt.Errorf("vcsim: SetGuestIP: VM %q is not powered on", vmName)
	}
	return nil
}

// VMNames lists the names of all VMs in the inventory, sorted. Call it when
// no import is running: vcsim sets a new VM's name without a lock the
// race detector can see.
func (s *Server) VMNames() []string {
	var names []string
	for _, e := range s.Model.Map().All("VirtualMachine") {
		names = append(names, e.Entity().Name)
	}
	sort.Strings(names)
	return names
}

// Mode returns "vcenter" or "esxi".
func (s *Server) Mode() string { return s.mode }

func (s *Server) findVM(name string) *simulator.VirtualMachine {
	for _, e := range s.Model.Map().All("VirtualMachine") {
		if vm, ok := e.(*simulator.VirtualMachine); ok && vm.Name == name {
			return vm
		}
	}
	return nil
}

// lockCtx returns a fresh simulator context: the simulator's object locks are
// re-entrant per context, so each goroutine needs its own.
func (s *Server) lockCtx() *simulator.Context {
	return &simulator.Context{Context: context.Background(), Map: s.Model.Map()}
}

// extension is one object in vcsim's registry that carries the methods we
// add or extend. vcsim resolves a call's target from the session (which
// falls back to the global registry) after the Registry.Handler hook runs, so
// a hook cannot swap in a wrapper of the target; it can retarget the call.
// Each method finds the real object from the request's own This/Obj.
type extension struct {
	mo.ExtensibleManagedObject // vcsim's property collector wants an mo type first
	s                          *Server
}

var extensionRef = types.ManagedObjectReference{Type: "OvakitExtension", Value: "ovakit-extension"}

// dispatch is the simulator's per-call hook (Registry.Handler).
func (s *Server) dispatch(ctx *simulator.Context, m *simulator.Method) (mo.Reference, types.BaseMethodFault) {
	switch m.Name {
	case "ImportVApp", "ExportVm", "CreateDescriptor":
		m.This = extensionRef
	case "HttpNfcLeaseAbort":
		// Import leases are vcsim's own objects: act before vcsim forgets it.
		s.abortImport(ctx, m.This)
	case "HttpNfcLeaseComplete":
		s.mu.Lock()
		delete(s.imports, m.This.Value)
		s.mu.Unlock()
	}
	return nil, nil
}
