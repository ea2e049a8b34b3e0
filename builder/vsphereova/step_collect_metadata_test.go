package vsphereova

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// The labels describe the VM as it is at the end of the build (here
// reconfigured away from the OVF's 1 vCPU / 128 MB), and the source without
// the credentials or token a URL may carry.
func TestCollectMetadata(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	c := simvm.Login(t, srv)
	p, err := vsphere.ResolvePlacement(t.Context(), c, vsphere.PlacementSpec{}, &govmomiovf.Envelope{})
	if err != nil {
		t.Fatal(err)
	}
	vm := simvm.Import(t, c, "meta")
	if err := vsphere.WaitTask(t.Context(), "reconfigure", func(ctx context.Context) (*object.Task, error) {
		return vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{NumCPUs: 4, NumCoresPerSocket: types.NewInt32(2), MemoryMB: 768})
	}); err != nil {
		t.Fatal(err)
	}
	r := newStepRun(t)
	r.state.Put("vm", &vsphere.Machine{Client: c, VM: vm})
	r.state.Put("placement", p)
	r.must(&stepCollectMetadata{server: srv.Host, source: "https://user:pw@images.example.com/base.ova?sig=s3cr3t#x"})
	info := r.state.Get("registry_image").(*registryInfo)
	want := map[string]string{
		"num_cpu": "4", "num_cores_per_socket": "2", "memory_mb": "768", "vm_name": "meta",
		"datacenter": "ha-datacenter", "datastore": "LocalDS_0", "vcenter_server": srv.Host,
		"source": "https://images.example.com/base.ova",
	}
	for k, v := range want {
		if info.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, info.Labels[k], v)
		}
	}
	for _, k := range []string{"vsphere_uuid", "host", "resource_pool", "folder"} {
		if info.Labels[k] == "" {
			t.Errorf("label %s is empty", k)
		}
	}
	if info.Region != "ha-datacenter" {
		t.Errorf("region %q", info.Region)
	}
}
