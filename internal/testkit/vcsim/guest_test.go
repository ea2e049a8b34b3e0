package vcsim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

func TestGuestIP(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			e := start(t, mode)
			vm, _ := e.importOVF(t, writeFixture(t, "ip", 1), "ip-vm")
			const ip = "192.0.2.10" // reported only, never contacted
			e.s.AutoGuestIP(ip)
			power(t, vm, true)
			got, err := vm.WaitForIP(ctx, true)
			if err != nil || got != ip {
				t.Fatalf("WaitForIP = %q, %v; want %s", got, err, ip)
			}
			macs, err := vm.WaitForNetIP(ctx, true)
			if err != nil || len(macs) != 1 {
				t.Fatalf("WaitForNetIP = %v, %v; want one NIC", macs, err)
			}
			for mac, ips := range macs {
				if mac == "" || len(ips) != 1 || ips[0] != ip {
					t.Fatalf("WaitForNetIP: %s -> %v", mac, ips)
				}
			}
			var o mo.VirtualMachine
			if err := vm.Properties(ctx, vm.Reference(), []string{"guest"}, &o); err != nil {
				t.Fatal(err)
			}
			if o.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
				t.Errorf("toolsRunningStatus = %q", o.Guest.ToolsRunningStatus)
			}

			// vSphere refuses to export a running VM.
			if _, err := vm.Export(ctx); err == nil || !strings.Contains(err.Error(), "power it off") {
				t.Errorf("ExportVm of a powered-on VM: err = %v", err)
			}

			power(t, vm, false)
			waitProp(t, vm, func(o mo.VirtualMachine) bool { return o.Guest.IpAddress == "" })
			if err := e.s.SetGuestIP("ip-vm", "192.0.2.11"); err == nil {
				t.Error("SetGuestIP on a powered-off VM succeeded")
			}
			if err := e.s.SetGuestIP("nope", "192.0.2.11"); err == nil || !strings.Contains(err.Error(), "nope") {
				t.Errorf("SetGuestIP on a missing VM: %v", err)
			}

			e.s.AutoGuestIP("")
			power(t, vm, true)
			if err := e.s.SetGuestIP("ip-vm", "192.0.2.11"); err != nil {
				t.Fatal(err)
			}
			got, err = vm.WaitForIP(ctx, true)
			if err != nil || got != "192.0.2.11" {
				t.Fatalf("WaitForIP after SetGuestIP = %q, %v", got, err)
			}
		})
	}
}
