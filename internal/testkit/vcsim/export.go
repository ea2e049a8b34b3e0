package vcsim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// exportFile is one downloadable device of an export lease.
type exportFile struct {
	key, target, local string
	size               int64
}

// exportLease is an HttpNfcLease in "pull" mode serving the VM's files. Its
// first field is the mo type, as vcsim's property collector requires.
type exportLease struct {
	mo.HttpNfcLease
	s     *Server
	files map[string]exportFile // by URL file name
	order []string
}

// ExportVm returns a ready lease serving the VM's disk files.
func (x *extension) ExportVm(ctx *simulator.Context, req *types.ExportVm) soap.HasFault {
	body := new(methods.ExportVmBody)
	vm, ok := ctx.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		body.Fault_ = simulator.Fault(fmt.Sprintf("ExportVm: %s is not a virtual machine", req.This),
			&types.ManagedObjectNotFound{Obj: req.This})
		return body
	}
	var state types.VirtualMachinePowerState
	var template bool
	ctx.WithLock(vm, func() {
		state = vm.Runtime.PowerState
		template = vm.Config != nil && vm.Config.Template
	})
	// vSphere only exports powered-off VMs (templates are always off).
	if state != types.VirtualMachinePowerStatePoweredOff && !template {
		body.Fault_ = simulator.Fault(fmt.Sprintf("VM %s is %s; power it off before ExportVm", vm.Name, state),
			&types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOff, ExistingState: state})
		return body
	}

	lease := &exportLease{s: x.s, files: map[string]exportFile{}}
	lease.Self.Type = "HttpNfcLease"
	ctx.Session.Put(lease)

	urls, capacityKB := lease.serve(vm)

	ctx.WithLock(lease, func() {
		ctx.Update(lease, []types.PropertyChange{
			{Name: "initializeProgress", Val: int32(100)},
			{Name: "mode", Val: string(types.HttpNfcLeaseModePull)},
			{Name: "info", Val: types.HttpNfcLeaseInfo{
				Lease:                 lease.Self,
				Entity:                vm.Self,
				DeviceUrl:             urls,
				TotalDiskCapacityInKB: capacityKB,
				LeaseTimeout:          300,
			}},
			{Name: "state", Val: types.HttpNfcLeaseStateReady},
		})
	})

	x.s.mu.Lock()
	x.s.exports[lease.Self.Value] = lease
	x.s.mu.Unlock()

	body.Res = &types.ExportVmResponse{Returnval: lease.Self}
	return body
}

// serve makes each disk of vm downloadable through the lease and returns
// the device URLs and the disks' total capacity.
func (l *exportLease) serve(vm *simulator.VirtualMachine) ([]types.HttpNfcLeaseDeviceUrl, int64) {
	base := *l.s.URL
	base.User = nil
	if l.s.mode == ModeESXi {
		// As on a real host: the client substitutes the host it connected to.
		base.Host = "*"
	}
	var urls []types.HttpNfcLeaseDeviceUrl
	var capacityKB int64
	for _, f := range l.s.vmFiles(vm) {
		if !f.disk {
			continue // vCenter exports disks (and NVRAM on request), not ISOs
		}
		size := int64(0)
		if fi, err := os.Stat(f.local); err == nil {
			size = fi.Size()
		}
		target := path.Base(f.dsPath.Path)
		for i := 1; l.files[target].local != ""; i++ { // same name on two datastores
			target = fmt.Sprintf("%d-%s", i, path.Base(f.dsPath.Path))
		}
		l.files[target] = exportFile{key: f.key, target: target, local: f.local, size: size}
		l.order = append(l.order, target)
		capacityKB += f.device.(*types.VirtualDisk).CapacityInKB

		u := base
		u.Path = "/nfc/" + l.Self.Value + "/" + target
		urls = append(urls, types.HttpNfcLeaseDeviceUrl{
			Key:       f.key,
			ImportKey: f.key,
			Url:       u.String(),
			TargetId:  target,
			Disk:      types.NewBool(true),
			FileSize:  size,
		})
	}
	return urls, capacityKB
}

func (l *exportLease) forget(ctx *simulator.Context, ref types.ManagedObjectReference) {
	l.s.mu.Lock()
	delete(l.s.exports, ref.Value)
	l.s.mu.Unlock()
	ctx.Session.Remove(ctx, ref)
}

func (l *exportLease) HttpNfcLeaseComplete(ctx *simulator.Context, req *types.HttpNfcLeaseComplete) soap.HasFault {
	l.forget(ctx, req.This)
	return &methods.HttpNfcLeaseCompleteBody{Res: new(types.HttpNfcLeaseCompleteResponse)}
}

func (l *exportLease) HttpNfcLeaseAbort(ctx *simulator.Context, req *types.HttpNfcLeaseAbort) soap.HasFault {
	l.forget(ctx, req.This)
	return &methods.HttpNfcLeaseAbortBody{Res: new(types.HttpNfcLeaseAbortResponse)}
}

func (l *exportLease) HttpNfcLeaseProgress(ctx *simulator.Context, req *types.HttpNfcLeaseProgress) soap.HasFault {
	body := new(methods.HttpNfcLeaseProgressBody)
	if req.Percent < 0 || req.Percent > 100 {
		body.Fault_ = simulator.Fault(fmt.Sprintf("percent %d is outside 0..100", req.Percent),
			&types.InvalidArgument{InvalidProperty: "percent"})
		return body
	}
	ctx.WithLock(l, func() {
		ctx.Update(l, []types.PropertyChange{{Name: "transferProgress", Val: req.Percent}})
	})
	body.Res = new(types.HttpNfcLeaseProgressResponse)
	return body
}

// HttpNfcLeaseGetManifest returns the SHA-1 and size of each served file.
func (l *exportLease) HttpNfcLeaseGetManifest(ctx *simulator.Context, req *types.HttpNfcLeaseGetManifest) soap.HasFault {
	body := new(methods.HttpNfcLeaseGetManifestBody)
	var entries []types.HttpNfcLeaseManifestEntry
	for _, name := range l.order {
		f := l.files[name]
		sum, n, err := sha1File(f.local)
		if err != nil {
			body.Fault_ = simulator.Fault(err.Error(), &types.FileFault{File: name})
			return body
		}
		entries = append(entries, types.HttpNfcLeaseManifestEntry{Key: f.key, Sha1: sum, Size: n, Disk: true})
	}
	body.Res = &types.HttpNfcLeaseGetManifestResponse{Returnval: entries}
	return body
}

func sha1File(p string) (string, int64, error) {
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return hex.EncodeToString(sha1.New().Sum(nil)), 0, nil // never uploaded: empty disk
	}
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha1.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hashing %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// serveDownload serves GET /nfc/<lease>/<file> for export leases and hands
// anything else to vcsim.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) {
	l, name := findLease(s, s.exports, r.URL.Path)
	if l == nil {
		simulator.ServeNFC(w, r)
		return
	}
	f, ok := l.files[name]
	if !ok {
		http.Error(w, fmt.Sprintf("lease %s has no file %q", l.Self.Value, name), http.StatusNotFound)
		return
	}
	file, err := os.Open(f.local)
	if os.IsNotExist(err) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "0") // disk never uploaded: empty
		w.WriteHeader(http.StatusOK)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, name, fi.ModTime(), file)
}
