package vsphereova

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// disklessOVF is the smallest descriptor vSphere imports: no files, so these
// tests need no qemu-img and run under -short.
const disklessOVF = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData">
  <References/>
  <VirtualSystem ovf:id="tiny">
    <Info>A virtual machine</Info>
    <VirtualHardwareSection>
      <Info>Virtual hardware requirements</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemType>vmx-13</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:AllocationUnits>hertz * 10^6</rasd:AllocationUnits>
        <rasd:ElementName>1 virtual CPU(s)</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>1</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>byte * 2^20</rasd:AllocationUnits>
        <rasd:ElementName>128MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>128</rasd:VirtualQuantity>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
`

// simClient logs in to srv as stepConnect does.
func simClient(t *testing.T, srv *vcsim.Server) *vim25.Client {
	t.Helper()
	c, err := connect(t.Context(), &ConnectConfig{VCenterServer: srv.Host, Username: srv.Username, Password: srv.Password, InsecureConnection: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = session.NewManager(c).Logout(context.Background()) })
	return c
}

// startImport begins the import of disklessOVF as name on an ESXi simulator.
func startImport(t *testing.T, c *vim25.Client, name string) (*nfc.Lease, []types.OvfFileItem) {
	t.Helper()
	ctx := t.Context()
	f := find.NewFinder(c)
	pool, err := f.DefaultResourcePool(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := govmomiovf.NewManager(c).CreateImportSpec(ctx, disklessOVF, pool, ds, &types.OvfCreateImportSpecParams{EntityName: name})
	if err != nil || len(spec.Error) > 0 {
		t.Fatalf("CreateImportSpec: %v %v", err, spec.Error)
	}
	lease, err := pool.ImportVApp(ctx, spec.ImportSpec, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return lease, spec.FileItem
}

// importTiny imports disklessOVF with withLease and returns the VM.
func importTiny(t *testing.T, c *vim25.Client, name string) *object.VirtualMachine {
	t.Helper()
	lease, items := startImport(t, c, name)
	var vm *object.VirtualMachine
	if err := withLease(t.Context(), lease, items, func(info *nfc.LeaseInfo) error {
		vm = object.NewVirtualMachine(c, info.Entity)
		return nil
	}); err != nil {
		t.Fatalf("withLease: %v", err)
	}
	return vm
}

func TestWithLease(t *testing.T) {
	srv := startSim(t, vcsim.ModeESXi)
	c := simClient(t, srv)

	// Success: the lease completes and the VM stays.
	importTiny(t, c, "kept")
	if vms := srv.VMNames(); len(vms) != 1 || vms[0] != "kept" {
		t.Fatalf("after a completed import: %v", vms)
	}

	// A failing transfer aborts the lease, so vSphere removes the VM.
	lease, items := startImport(t, c, "aborted")
	var ran bool
	err := withLease(t.Context(), lease, items, func(*nfc.LeaseInfo) error {
		ran = true
		if vms := srv.VMNames(); len(vms) != 2 {
			t.Errorf("during the transfer the inventory is %v, want the new VM in it", vms)
		}
		return errors.New("upload broken on purpose")
	})
	if !ran || err == nil || !strings.Contains(err.Error(), "broken on purpose") {
		t.Fatalf("ran=%v err=%v, want the transfer's error", ran, err)
	}
	if vms := srv.VMNames(); len(vms) != 1 || vms[0] != "kept" {
		t.Errorf("after a failed transfer the inventory is %v, want only [kept]", vms)
	}
	if _, err := lease.Properties(t.Context(), "state"); err == nil {
		t.Error("the lease still exists after the failed transfer")
	}
}
