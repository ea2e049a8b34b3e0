package vsphere

import (
	"strings"
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

func TestPlacementESXi(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	c := simvm.Login(t, srv)
	env := &govmomiovf.Envelope{}
	p, err := ResolvePlacement(t.Context(), c, PlacementSpec{}, env)
	if err != nil {
		t.Fatalf("default placement on ESXi: %v", err)
	}
	if p.Host != nil || p.Pool == nil || p.Datastore.Name() != "LocalDS_0" || p.Folder == nil {
		t.Errorf("placement = %+v; want no host argument (ESXi imports onto itself), a pool, LocalDS_0, the VM folder", p)
	}
	for _, c2 := range []struct {
		cfg  PlacementSpec
		want string
	}{
		{PlacementSpec{Cluster: "C"}, "a standalone ESXi host has no clusters; remove cluster"},
		{PlacementSpec{Folder: "f"}, "a standalone ESXi host has no VM folders; remove folder"},
	} {
		if _, err := ResolvePlacement(t.Context(), c, c2.cfg, env); err == nil || !strings.Contains(err.Error(), c2.want) {
			t.Errorf("%+v: err = %v, want %q", c2.cfg, err, c2.want)
		}
	}
}

// Names resolve as inventory paths or relative to the cluster, host or VM
// folder, as vsphere-clone resolves them.
func TestPlacementVCenterNames(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeVCenter)
	c := simvm.Login(t, srv)
	env := &govmomiovf.Envelope{Network: &govmomiovf.NetworkSection{Networks: []govmomiovf.Network{{Name: "VM Network"}}}}
	p, err := ResolvePlacement(t.Context(), c, PlacementSpec{Cluster: "DC0_C0", Host: "DC0_C0_H0", Folder: "/DC0/vm",
		Networks: []NetworkMapping{{Name: "VM Network", Network: "DC0_DVPG0"}}}, env)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cluster == nil || p.Cluster.Name() != "DC0_C0" || p.Host == nil || p.Host.Name() != "DC0_C0_H0" {
		t.Errorf("cluster %v, host %v", p.Cluster, p.Host)
	}
	clusterPool, err := p.Cluster.ResourcePool(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if p.Pool.Reference() != clusterPool.Reference() || p.Folder.InventoryPath != "/DC0/vm" {
		t.Errorf("pool %v (want the cluster's root pool %v), folder %s", p.Pool.Reference(), clusterPool.Reference(), p.Folder.InventoryPath)
	}
	if len(p.Networks) != 1 || p.Networks[0].Name != "VM Network" || p.Networks[0].Network.Type != "DistributedVirtualPortgroup" {
		t.Errorf("networks %+v", p.Networks)
	}
}
