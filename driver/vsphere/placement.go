package vsphere

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"
)

// PlacementSpec is where an import goes, by name or inventory path, as the
// builder's location options give it (the errors name those options).
type PlacementSpec struct {
	Datacenter, Cluster, Host, ResourcePool, Folder, Datastore string
	// Networks maps the OVF's networks to vSphere networks (network_mapping).
	Networks []NetworkMapping
}

// NetworkMapping maps the OVF network Name to the vSphere network Network.
type NetworkMapping struct{ Name, Network string }

// Placement is every inventory object the import needs, found before
// anything is created.
type Placement struct {
	Datacenter *object.Datacenter
	Cluster    *object.ClusterComputeResource // nil without cluster
	Pool       *object.ResourcePool
	Host       *object.HostSystem // nil: let vSphere choose
	Folder     *object.Folder
	Datastore  *object.Datastore
	Networks   []types.OvfNetworkMapping
}

// finder looks up inventory objects; its errors name what was not found and
// list what exists.
type finder struct {
	*find.Finder
	isVC bool
}

func names[T any](list []T, name func(T) string) string {
	var out []string
	for _, v := range list {
		out = append(out, name(v))
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, ", ")
}

// ResolvePlacement finds the datacenter, compute resource, datastore, folder
// and networks of cfg, in that order (each lookup narrows the next), and
// checks the network mapping against the OVF env.
func ResolvePlacement(ctx context.Context, c *vim25.Client, cfg PlacementSpec, env *govmomiovf.Envelope) (*Placement, error) {
	f := &finder{Finder: find.NewFinder(c, false), isVC: c.IsVC()}
	p := &Placement{}
	var err error
	if p.Datacenter, err = f.datacenter(ctx, cfg.Datacenter); err != nil {
		return nil, err
	}
	f.SetDatacenter(p.Datacenter)
	if err := f.compute(ctx, cfg, p); err != nil {
		return nil, err
	}
	if p.Datastore, err = f.datastore(ctx, cfg.Datastore, p.Datacenter); err != nil {
		return nil, err
	}
	if p.Folder, err = f.folder(ctx, cfg.Folder, p.Datacenter); err != nil {
		return nil, err
	}
	if !f.isVC {
		p.Host = nil // ESXi imports onto itself; ImportVApp rejects a host argument there
	}
	if p.Networks, err = f.networks(ctx, cfg.Networks, env, p.Datacenter); err != nil {
		return nil, err
	}
	return p, nil
}

func (f *finder) datacenter(ctx context.Context, name string) (*object.Datacenter, error) {
	dcs, _ := f.DatacenterList(ctx, "*")
	list := func() string { return names(dcs, func(d *object.Datacenter) string { return d.Name() }) }
	if name != "" {
		dc, err := f.Datacenter(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("datacenter %q not found; datacenters: %s", name, list())
		}
		return dc, nil
	}
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		return nil, fmt.Errorf("set datacenter: the inventory has several (or no) datacenters: %s", list())
	}
	return dc, nil
}

// compute finds the cluster, host and resource pool.
func (f *finder) compute(ctx context.Context, cfg PlacementSpec, p *Placement) error {
	var err error
	if cfg.Cluster != "" {
		if !f.isVC {
			return fmt.Errorf("cluster %q: a standalone ESXi host has no clusters; remove cluster", cfg.Cluster)
		}
		if p.Cluster, err = f.ClusterComputeResource(ctx, cfg.Cluster); err != nil {
			list, _ := f.ClusterComputeResourceList(ctx, "*")
			return fmt.Errorf("cluster %q not found in datacenter %s; clusters: %s", cfg.Cluster, p.Datacenter.Name(), names(list, func(o *object.ClusterComputeResource) string { return o.Name() }))
		}
	}
	if cfg.Host != "" {
		hp := cfg.Host
		if p.Cluster != nil && !strings.Contains(hp, "/") {
			hp = p.Cluster.InventoryPath + "/" + hp
		}
		if p.Host, err = f.HostSystem(ctx, hp); err != nil {
			list, _ := f.HostSystemList(ctx, "*")
			return fmt.Errorf("host %q not found; hosts: %s", cfg.Host, names(list, func(o *object.HostSystem) string { return o.Name() }))
		}
	}
	switch {
	case cfg.ResourcePool != "":
		p.Pool, err = f.pool(ctx, cfg.ResourcePool, p)
		return err
	case p.Cluster != nil:
		p.Pool, err = p.Cluster.ResourcePool(ctx)
	case p.Host != nil:
		p.Pool, err = p.Host.ResourcePool(ctx)
	default:
		if p.Pool, err = f.DefaultResourcePool(ctx); err != nil {
			cl, _ := f.ClusterComputeResourceList(ctx, "*")
			hl, _ := f.HostSystemList(ctx, "*")
			return fmt.Errorf("set cluster, host or resource_pool: datacenter %s has several places to put the VM; clusters: %s; hosts: %s",
				p.Datacenter.Name(), names(cl, func(o *object.ClusterComputeResource) string { return o.Name() }), names(hl, func(o *object.HostSystem) string { return o.Name() }))
		}
	}
	if err != nil {
		return fmt.Errorf("finding the resource pool: %w", err)
	}
	return nil
}

// pool finds resource_pool as an inventory path, else under the cluster's or
// host's root pool.
func (f *finder) pool(ctx context.Context, name string, p *Placement) (*object.ResourcePool, error) {
	candidates := []string{name}
	if p.Cluster != nil {
		candidates = append(candidates, p.Cluster.InventoryPath+"/Resources/"+name)
	} else if p.Host != nil {
		candidates = append(candidates, parentPath(p.Host.InventoryPath)+"/Resources/"+name)
	}
	for _, cand := range candidates {
		if rp, err := f.ResourcePool(ctx, cand); err == nil {
			return rp, nil
		}
	}
	list, _ := f.ResourcePoolList(ctx, "*")
	return nil, fmt.Errorf("resource_pool %q not found; resource pools: %s", name, names(list, func(o *object.ResourcePool) string { return o.InventoryPath }))
}

func (f *finder) datastore(ctx context.Context, name string, dc *object.Datacenter) (*object.Datastore, error) {
	list, _ := f.DatastoreList(ctx, "*")
	all := func() string { return names(list, func(o *object.Datastore) string { return o.Name() }) }
	if name != "" {
		ds, err := f.Datastore(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("datastore %q not found in datacenter %s; datastores: %s", name, dc.Name(), all())
		}
		return ds, nil
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		return nil, fmt.Errorf("set datastore: there are several (or no) datastores: %s", all())
	}
	return ds, nil
}

// folder finds folder as an inventory path or relative to the datacenter's
// VM folder; empty is the VM folder itself.
func (f *finder) folder(ctx context.Context, name string, dc *object.Datacenter) (*object.Folder, error) {
	folders, err := dc.Folders(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the datacenter's folders: %w", err)
	}
	if name == "" {
		return folders.VmFolder, nil
	}
	if !f.isVC {
		return nil, fmt.Errorf("folder %q: a standalone ESXi host has no VM folders; remove folder", name)
	}
	fo, err := f.Folder(ctx, name)
	if err != nil {
		fo, err = f.Folder(ctx, folders.VmFolder.InventoryPath+"/"+strings.TrimPrefix(name, "/"))
	}
	if err != nil {
		list, _ := f.FolderList(ctx, folders.VmFolder.InventoryPath+"/*")
		return nil, fmt.Errorf("folder %q not found; folders under %s: %s", name, folders.VmFolder.InventoryPath, names(list, func(o *object.Folder) string { return o.Name() }))
	}
	return fo, nil
}

// networks checks network_mapping against the OVF and the inventory: a name
// the OVF does not declare or a network that does not exist would otherwise
// surface mid-import (or be silently ignored).
func (f *finder) networks(ctx context.Context, mapping []NetworkMapping, env *govmomiovf.Envelope, dc *object.Datacenter) ([]types.OvfNetworkMapping, error) {
	var ovfNets []string
	if env.Network != nil {
		for _, n := range env.Network.Networks {
			ovfNets = append(ovfNets, n.Name)
		}
	}
	var out []types.OvfNetworkMapping
	for _, m := range mapping {
		if !slices.Contains(ovfNets, m.Name) {
			return nil, fmt.Errorf("network_mapping: the OVF declares no network %q; its networks: %s", m.Name, names(ovfNets, func(s string) string { return s }))
		}
		n, err := f.Network(ctx, m.Network)
		if err != nil {
			list, _ := f.NetworkList(ctx, "*")
			return nil, fmt.Errorf("network_mapping: network %q (for OVF network %q) not found in datacenter %s; networks: %s", m.Network, m.Name, dc.Name(), names(list, func(o object.NetworkReference) string { return pathBase(o.GetInventoryPath()) }))
		}
		out = append(out, types.OvfNetworkMapping{Name: m.Name, Network: n.Reference()})
	}
	return out, nil
}

func parentPath(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return p
}

func pathBase(p string) string { return p[strings.LastIndex(p, "/")+1:] }
