package vsphereova

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// The import puts the VM and its machine/exporter views in state, with the
// OVF properties passed to the OVF manager (vcsim copies them into
// extraConfig).
func TestImport(t *testing.T) {
	src := makeOVA(t, "imp", 1)
	srv := simvm.Start(t, vcsim.ModeVCenter)
	r, _ := importVM(t, srv, src, func(raw map[string]interface{}) {
		raw["vm_name"] = "imported"
		raw["vapp"] = map[string]interface{}{"properties": map[string]string{"appliance.hostname": "imp-1"}}
	})
	vm := r.state.Get("vm").(*vsphere.Machine).VM
	if _, ok := r.state.Get("machine").(*vsphere.Machine); !ok {
		t.Error("no machine in state")
	}
	if _, ok := r.state.Get("exporter").(*vsphere.Machine); !ok {
		t.Error("no exporter in state")
	}
	if name, err := vm.ObjectName(t.Context()); err != nil || name != "imported" {
		t.Errorf("VM name %q, %v", name, err)
	}
	if extraConfig(t, vm)["appliance.hostname"] != "imp-1" {
		t.Error("the OVF property did not reach the import spec")
	}
	if p, ok := r.state.Get("placement").(*vsphere.Placement); !ok || p.Datacenter.Name() != "DC0" {
		t.Errorf("placement in state: %+v", r.state.Get("placement"))
	}
}

// The manifest inside the OVA is verified while streaming: a corrupted disk
// fails the upload and the half-imported VM is removed.
func TestCorruptDiskFailsUpload(t *testing.T) {
	src := makeOVA(t, "bad", 1)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := ova.OpenArchive(src)
	if err != nil {
		t.Fatal(err)
	}
	var off int64 = -1
	for _, m := range ar.Members() {
		if strings.HasSuffix(m.Name, ".vmdk") {
			off = m.Offset + m.Size - 1
		}
	}
	ar.Close()
	if off < 0 {
		t.Fatal("no disk in the fixture OVA")
	}
	data[off] ^= 0xff // flip the disk's last byte, keep the tar valid
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := simvm.Start(t, vcsim.ModeESXi)
	srv.AutoGuestIP("10.0.0.9")
	_, _, err = runBuild(t, context.Background(), baseConfig(srv, src))
	if err == nil || !strings.Contains(err.Error(), "does not match the OVA's manifest") {
		t.Fatalf("err = %v, want a manifest digest mismatch", err)
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
}
