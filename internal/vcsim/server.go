package vcsim

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
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
	return StartOn(ctx, mode, "127.0.0.1:0")
}

// StartOn is Start with an explicit listen address, which must be a loopback
// address (the simulator accepts any credentials: never expose it).
func StartOn(ctx context.Context, mode, listen string) (*Server, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vcsim: not started: %w", err)
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("vcsim: listen address %q: %w (want host:port, e.g. 127.0.0.1:0)", listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("vcsim: listen address %q is not a loopback IP; the simulator accepts any login, use 127.0.0.1", listen)
	}

	var model *simulator.Model
	switch mode {
	case ModeVCenter:
		model = simulator.VPX()
	case ModeESXi:
		model = simulator.ESX()
	default:
		return nil, fmt.Errorf("vcsim: unknown mode %q (want %q or %q)", mode, ModeVCenter, ModeESXi)
	}
	// No pre-made VMs: every VM in the inventory comes from the test, which
	// makes "nothing left behind" assertions simple.
	model.Machine = 0
	model.Autostart = false
	if err := model.Create(); err != nil {
		model.Remove()
		return nil, fmt.Errorf("vcsim: creating %s model: %w", mode, err)
	}

	s := &Server{
		Model:   model,
		mode:    mode,
		imports: map[string]*importLease{},
		exports: map[string]*exportLease{},
		stop:    make(chan struct{}),
	}

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

	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.stop:
		}
	}()
	return s, nil
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

// VMNames lists the names of all VMs in the inventory, sorted.
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

// --- import: store uploaded bytes --------------------------------------------

type importLease struct {
	lease *simulator.HttpNfcLease
	mu    sync.Mutex // vcsim's ServeNFC writes an unlocked map per lease
}

// ImportVApp runs vcsim's ImportVApp (holding the pool's lock, as vcsim's
// dispatch would) and remembers the lease so uploads can be stored.
func (x *extension) ImportVApp(ctx *simulator.Context, req *types.ImportVApp) soap.HasFault {
	var res soap.HasFault
	switch o := ctx.Map.Get(req.This).(type) {
	case *simulator.ResourcePool:
		ctx.WithLock(o, func() { res = o.ImportVApp(ctx, req) })
	case *simulator.VirtualApp:
		ctx.WithLock(o, func() { res = o.ImportVApp(ctx, req) })
	default:
		return &methods.ImportVAppBody{Fault_: simulator.Fault(fmt.Sprintf("ImportVApp: %s is not a resource pool or vApp", req.This),
			&types.ManagedObjectNotFound{Obj: req.This})}
	}
	body, ok := res.(*methods.ImportVAppBody)
	if !ok || body.Res == nil {
		return res
	}
	if l, ok := ctx.Session.Get(body.Res.Returnval).(*simulator.HttpNfcLease); ok {
		x.s.mu.Lock()
		x.s.imports[body.Res.Returnval.Value] = &importLease{lease: l}
		x.s.mu.Unlock()
	}
	return res
}

// abortImport destroys the VM an import lease created, as vCenter does when
// an ImportVApp lease is aborted.
func (s *Server) abortImport(ctx *simulator.Context, ref types.ManagedObjectReference) {
	s.mu.Lock()
	il := s.imports[ref.Value]
	delete(s.imports, ref.Value)
	s.mu.Unlock()
	if il == nil {
		return
	}
	il.mu.Lock() // let an upload in progress finish its bookkeeping first
	defer il.mu.Unlock()
	var entity types.ManagedObjectReference
	s.Model.Map().WithLock(s.lockCtx(), il.lease, func() {
		if il.lease.Info != nil {
			entity = il.lease.Info.Entity
		}
	})
	vm, ok := ctx.Map.Get(entity).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	var res soap.HasFault
	ctx.WithLock(vm, func() { res = vm.DestroyTask(ctx, &types.Destroy_Task{This: entity}) })
	if b, ok := res.(*methods.Destroy_TaskBody); ok && b.Res != nil {
		if t, ok := ctx.Map.Get(b.Res.Returnval).(*simulator.Task); ok {
			t.Wait()
		}
	}
}

// leaseTarget splits /nfc/<lease>/<name>.
func leaseTarget(p string) (lease, name string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(p, "/nfc/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id, name, ok := leaseTarget(r.URL.Path)
	s.mu.Lock()
	il := s.imports[id]
	s.mu.Unlock()
	if !ok || il == nil {
		simulator.ServeNFC(w, r) // unknown lease: vcsim answers 404
		return
	}
	il.mu.Lock()
	defer il.mu.Unlock()

	target, err := s.importTarget(il.lease, name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	// Write next to the target, rename on success: an aborted upload leaves
	// the backing file as it was.
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".upload-*")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	body := r.Body
	r.Body = readCloser{Reader: io.TeeReader(body, tmp), Closer: body}
	rec := &statusRecorder{header: w.Header(), status: http.StatusOK}
	simulator.ServeNFC(rec, r) // keeps vcsim's sha1 manifest bookkeeping
	status := rec.status
	if err := tmp.Close(); err != nil && status == http.StatusOK {
		status = http.StatusInternalServerError
	}
	if status == http.StatusOK {
		if err := os.Rename(tmp.Name(), target); err != nil {
			status = http.StatusInternalServerError
		}
	}
	w.WriteHeader(status)
}

// importTarget maps an uploaded file name to the local file that backs the
// device of the lease's VM: a disk's "-flat.vmdk" extent (vcsim keeps its own
// descriptor in the .vmdk), or the file itself (ISO, ...).
func (s *Server) importTarget(l *simulator.HttpNfcLease, name string) (string, error) {
	var entity types.ManagedObjectReference
	s.Model.Map().WithLock(s.lockCtx(), l, func() {
		if l.Info != nil {
			entity = l.Info.Entity
		}
	})
	vm, ok := s.Model.Map().Get(entity).(*simulator.VirtualMachine)
	if !ok {
		return "", fmt.Errorf("lease %s has no VM (yet)", l.Self.Value)
	}
	for _, f := range s.vmFiles(vm) {
		if path.Base(f.dsPath.Path) == name {
			return f.local, nil
		}
	}
	return "", fmt.Errorf("VM %s has no device file %q", vm.Self.Value, name)
}

// deviceFile is a VM device backed by a file in a local datastore folder.
type deviceFile struct {
	device types.BaseVirtualDevice
	key    string // lease device key, e.g. /vm-42/disk:0
	dsPath object.DatastorePath
	local  string // file holding the bytes (a disk's -flat.vmdk)
	disk   bool
}

// vmFiles lists the VM's file-backed devices in device order.
func (s *Server) vmFiles(vm *simulator.VirtualMachine) []deviceFile {
	var devices object.VirtualDeviceList
	var self string
	s.Model.Map().WithLock(s.lockCtx(), vm, func() {
		self = vm.Self.Value
		if vm.Config != nil {
			devices = append(devices, vm.Config.Hardware.Device...)
		}
	})
	count := map[string]int{}
	var files []deviceFile
	for _, d := range devices {
		info, ok := d.GetVirtualDevice().Backing.(types.BaseVirtualDeviceFileBackingInfo)
		if !ok {
			continue
		}
		var p object.DatastorePath
		if !p.FromString(info.GetVirtualDeviceFileBackingInfo().FileName) {
			continue
		}
		dir := s.datastoreDir(p.Datastore)
		if dir == "" {
			continue
		}
		kind := devices.Type(d)
		n := count[kind]
		count[kind]++
		_, disk := d.(*types.VirtualDisk)
		local := filepath.Join(dir, filepath.FromSlash(p.Path))
		if disk {
			local = simulator.VirtualDiskBackingFileName(local)
		}
		files = append(files, deviceFile{
			device: d,
			key:    fmt.Sprintf("/%s/%s:%d", self, kind, n),
			dsPath: p,
			local:  local,
			disk:   disk,
		})
	}
	return files
}

// datastoreDir returns the local folder of a datastore, by name.
func (s *Server) datastoreDir(name string) string {
	for _, e := range s.Model.Map().All("Datastore") {
		ds, ok := e.(*simulator.Datastore)
		if !ok || ds.Name != name {
			continue
		}
		return ds.Summary.Url
	}
	return ""
}

type readCloser struct {
	io.Reader
	io.Closer
}

// statusRecorder holds back vcsim's status until our rename is done.
type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int)        { r.status = code }
