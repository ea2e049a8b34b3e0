// Package simvm gives tests a logged-in client of internal/testkit/vcsim and
// VMs to work on: the smallest importable VM, imported through a real NFC
// lease, so driver and builder tests need no qemu-img and run fast. It uses
// govmomi directly, not the plugin's driver, so the driver's own tests can
// use it without an import cycle.
package simvm

import (
	"context"
	"net/url"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// disklessOVF is the smallest descriptor vSphere imports: no files, so these
// tests need no qemu-img.
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

// Start runs a simulator in mode (vcsim.ModeESXi, vcsim.ModeVCenter) for
// the test.
func Start(t testing.TB, mode string) *vcsim.Server {
	t.Helper()
	return StartWith(t, vcsim.Options{Mode: mode})
}

// StartWith runs a simulator with options (a session timeout, the vAPI)
// for the test.
func StartWith(t testing.TB, o vcsim.Options) *vcsim.Server {
	t.Helper()
	srv, err := vcsim.StartWith(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// Login returns a client logged in to srv, logged out after the test.
func Login(t testing.TB, srv *vcsim.Server) *vim25.Client {
	t.Helper()
	u, err := soap.ParseURL(srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	c, err := vim25.NewClient(t.Context(), soap.NewClient(u, true))
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(c).Login(t.Context(), url.UserPassword(srv.Username, srv.Password)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = session.NewManager(c).Logout(context.Background()) })
	return c
}

// StartImport begins the import of the diskless VM as name and returns its
// lease, not yet waited for, and the import spec's file items.
func StartImport(t testing.TB, c *vim25.Client, name string) (*nfc.Lease, []types.OvfFileItem) {
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

// Import imports the diskless VM as name and returns it, powered off.
func Import(t testing.TB, c *vim25.Client, name string) *object.VirtualMachine {
	t.Helper()
	lease, items := StartImport(t, c, name)
	info, err := lease.Wait(t.Context(), items)
	if err != nil {
		t.Fatalf("waiting for the import lease: %v", err)
	}
	if err := lease.Complete(t.Context()); err != nil {
		t.Fatalf("completing the import lease: %v", err)
	}
	return object.NewVirtualMachine(c, info.Entity)
}
