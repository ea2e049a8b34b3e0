package vsphere

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// Client is a logged-in vSphere API client (Connect).
type Client = vim25.Client

// ImportOptions are how an OVF becomes a VM: its name and what the OVF
// manager fills in (the import options of the builder).
type ImportOptions struct {
	Name             string
	DiskProvisioning string
	DeploymentOption string
	Properties       map[string]string
}

// Import is an import the OVF manager accepted, not started yet.
type Import struct {
	c    *Client
	p    *Placement
	spec *types.OvfCreateImportSpecResult
	// Warnings are what vSphere said about the descriptor without refusing it.
	Warnings []string
}

// OpenFunc opens a file the descriptor references, with its size.
type OpenFunc func(name string) (io.ReadCloser, int64, error)

// NewImport asks the OVF manager to turn descriptor into an import spec at
// p, with the network mapping, deployment option, properties and
// provisioning. what names the descriptor in errors.
func NewImport(ctx context.Context, c *Client, descriptor, what string, p *Placement, o ImportOptions) (*Import, error) {
	var props []types.KeyValue
	for k, v := range o.Properties {
		props = append(props, types.KeyValue{Key: k, Value: v})
	}
	sort.Slice(props, func(i, j int) bool { return props[i].Key < props[j].Key })
	cisp := types.OvfCreateImportSpecParams{
		DiskProvisioning: o.DiskProvisioning,
		EntityName:       o.Name,
		OvfManagerCommonParams: types.OvfManagerCommonParams{
			DeploymentOption: o.DeploymentOption,
			Locale:           "US",
		},
		PropertyMapping: props,
		NetworkMapping:  p.Networks,
	}
	spec, err := govmomiovf.NewManager(c).CreateImportSpec(ctx, descriptor, p.Pool, p.Datastore, &cisp)
	if err != nil {
		return nil, fmt.Errorf("creating the import spec for %s: %w", what, err)
	}
	if len(spec.Error) > 0 {
		var msgs []string
		for _, e := range spec.Error {
			msgs = append(msgs, FaultMessage(e))
		}
		return nil, fmt.Errorf("vSphere rejected %s: %s", what, strings.Join(msgs, "; "))
	}
	im := &Import{c: c, p: p, spec: spec}
	for _, w := range spec.Warning {
		im.Warnings = append(im.Warnings, FaultMessage(w))
	}
	return im, nil
}

// Run imports through an NFC lease, uploading each file the lease asks for
// from open. created gets the VM as soon as vSphere has made it, before any
// upload, so that a caller can destroy it however the upload ends; a failed
// upload aborts the lease, which removes the VM too.
func (im *Import) Run(ctx context.Context, open OpenFunc, created func(*Machine)) error {
	lease, err := im.p.Pool.ImportVApp(ctx, im.spec.ImportSpec, im.p.Folder, im.p.Host)
	if err != nil {
		return fmt.Errorf("starting the import: %w", err)
	}
	return WithLease(ctx, lease, im.spec.FileItem, func(info *nfc.LeaseInfo) error {
		created(&Machine{Client: im.c, VM: object.NewVirtualMachine(im.c, info.Entity)})
		for _, item := range info.Items {
			if err := upload(ctx, lease, item, open); err != nil {
				return err
			}
		}
		return nil
	})
}

func upload(ctx context.Context, lease *nfc.Lease, item nfc.FileItem, open OpenFunc) error {
	r, size, err := open(item.Path)
	if err != nil {
		return fmt.Errorf("opening %s in the source: %w", item.Path, err)
	}
	defer r.Close()
	if err := lease.Upload(ctx, item, r, soap.Upload{ContentLength: size}); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("uploading %s: %w", item.Path, err)
	}
	return nil
}
