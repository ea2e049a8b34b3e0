// Package simimport imports OVF descriptors and OVAs into govmomi's
// in-process vCenter simulator with govmomi's own importer (the code `govc
// import.ovf` and `govc import.ova` run), so every package's tests place and
// import the same way and only assert what is their own.
package simimport

import (
	"context"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/ovf/importer"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Env is a running simulator with the placement every import uses: the
// default datacenter and datastore, and the cluster DC0_C0's pool (VPX() has
// a cluster and a standalone host).
type Env struct {
	Client *vim25.Client
	finder *find.Finder
	dc     *object.Datacenter
	ds     *object.Datastore
	pool   *object.ResourcePool
	folder *object.Folder
}

// Run starts simulator.VPX(), calls f with its Env and removes the model.
// An error from f or from the set-up fails the test.
func Run(t testing.TB, f func(ctx context.Context, e *Env) error) {
	t.Helper()
	model := simulator.VPX()
	defer model.Remove()
	err := model.Run(func(ctx context.Context, c *vim25.Client) error {
		e, err := New(ctx, c)
		if err != nil {
			return err
		}
		return f(ctx, e)
	})
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
}

// New finds the placement every import uses on a VPX-shaped inventory that
// c is logged in to (simulator.VPX(), or internal/testkit/vcsim in vCenter
// mode, which adds the export side).
func New(ctx context.Context, c *vim25.Client) (*Env, error) {
	e := &Env{Client: c, finder: find.NewFinder(c)}
	var err error
	if e.dc, err = e.finder.DefaultDatacenter(ctx); err != nil {
		return nil, err
	}
	e.finder.SetDatacenter(e.dc)
	if e.ds, err = e.finder.DefaultDatastore(ctx); err != nil {
		return nil, err
	}
	if e.pool, err = e.finder.ResourcePool(ctx, "DC0_C0/Resources"); err != nil {
		return nil, err
	}
	folders, err := e.dc.Folders(ctx)
	if err != nil {
		return nil, err
	}
	e.folder = folders.VmFolder
	return e, nil
}

// Import imports path, an .ova (read as a tar, its manifest verified when
// verifyManifest is set) or an .ovf with its files beside it. It returns the
// new VM and the importer's log, which names every uploaded file.
func (e *Env) Import(ctx context.Context, path string, opts importer.Options, verifyManifest bool) (*types.ManagedObjectReference, string, error) {
	var log strings.Builder
	imp := importer.Importer{
		Log:            func(msg string) (int, error) { return log.WriteString(msg) },
		VerifyManifest: verifyManifest,
		Client:         e.Client,
		Finder:         e.finder,
		Datacenter:     e.dc,
		Datastore:      e.ds,
		ResourcePool:   e.pool,
		Folder:         e.folder,
	}
	fpath := path
	if strings.HasSuffix(strings.ToLower(path), ".ova") {
		imp.Archive = &importer.TapeArchive{Path: path, Opener: importer.Opener{Client: e.Client}}
		fpath = "*.ovf"
	} else {
		imp.Archive = &importer.FileArchive{Path: path, Opener: importer.Opener{Client: e.Client}}
	}
	ref, err := imp.Import(ctx, fpath, opts)
	return ref, log.String(), err
}

// VM reads an imported VM's name and configuration.
func (e *Env) VM(ctx context.Context, ref types.ManagedObjectReference) (mo.VirtualMachine, error) {
	var vm mo.VirtualMachine
	err := object.NewVirtualMachine(e.Client, ref).Properties(ctx, ref, []string{"name", "config"}, &vm)
	return vm, err
}
