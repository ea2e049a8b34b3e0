package vcsim

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// leaseTarget splits /nfc/<lease>/<name>.
func leaseTarget(p string) (lease, name string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(p, "/nfc/"), "/")
	if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// findLease returns the lease an NFC URL path names, from leases (our
// import or export leases), and the file name; nil when it is not ours.
func findLease[L any](s *Server, leases map[string]*L, p string) (*L, string) {
	id, name, ok := leaseTarget(p)
	if !ok {
		return nil, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return leases[id], name
}

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
	devices = inKeyOrder(devices)
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

// inKeyOrder sorts devices by key. vcsim implements a device edit as remove
// and add, which moves the device to the end of the list; vSphere keeps
// devices in key order, so that growing disk 0 leaves it disk 0 in the
// export lease and the descriptor.
func inKeyOrder(devices object.VirtualDeviceList) object.VirtualDeviceList {
	out := append(object.VirtualDeviceList(nil), devices...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].GetVirtualDevice().Key < out[j].GetVirtualDevice().Key })
	return out
}
