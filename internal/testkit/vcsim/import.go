package vcsim

import (
	"fmt"
	"io"
	"net/http"
	"path"
	"sync"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Import: bytes uploaded to an ImportVApp lease are stored as the backing
// files of the new VM's devices (vcsim itself only hashes them).

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

// serveUpload stores PUT/POST /nfc/<lease>/<file> for import leases and
// hands anything else to vcsim.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	il, name := findLease(s, s.imports, r.URL.Path)
	if il == nil {
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
	tmp, err := atomicfile.Create(target, 0o644)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer tmp.Abort() // no-op after a successful commit
	body := r.Body
	r.Body = readCloser{Reader: io.TeeReader(body, tmp), Closer: body}
	rec := &statusRecorder{header: w.Header(), status: http.StatusOK}
	simulator.ServeNFC(rec, r) // keeps vcsim's sha1 manifest bookkeeping
	status := rec.status
	if status == http.StatusOK {
		if err := tmp.Commit(r.Context()); err != nil {
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
