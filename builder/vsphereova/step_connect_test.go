package vsphereova

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// vCenter drops sessions that idle past its session timeout. The keep-alive
// must carry the session through a provisioner that talks only to the guest:
// here the simulator drops sessions idle for 2 s (it checks every 2 s, so an
// idle session is gone within 4 s) and the provisioner phase lasts 6 s;
// shutdown (through VMware Tools) and export need the session afterwards.
// The keep-alive runs every 200 ms: a wide margin, as a loaded CI machine can
// delay a goroutine by most of a second.
func TestKeepAliveSurvivesIdleSession(t *testing.T) {
	src := makeOVA(t, "idle", 1)
	const timeout = 2 * time.Second
	srv := simvm.StartWith(t, vcsim.Options{Mode: vcsim.ModeESXi, SessionTimeout: timeout})
	srv.AutoGuestIP("10.0.0.5")
	defer func(v time.Duration) { vsphere.KeepAliveInterval = v }(vsphere.KeepAliveInterval)
	vsphere.KeepAliveInterval = timeout / 10

	outDir := filepath.Join(t.TempDir(), "out")
	raw := baseConfig(srv, src)
	raw["export"] = map[string]interface{}{"output_directory": outDir, "name": "idle"}
	hook := &packersdk.MockHook{RunFunc: func(ctx context.Context) error {
		select {
		case <-time.After(3 * timeout):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
	a, _, err := runBuildHook(t, context.Background(), raw, hook)
	if err != nil {
		t.Fatalf("build with an idle provisioner failed: %v", err)
	}
	if !hook.RunCalled {
		t.Fatal("the provisioner hook never ran, so nothing idled")
	}
	if len(a.Files()) != 3 {
		t.Errorf("artifact files = %v, want ovf, mf and a disk", a.Files())
	}
	if _, err := os.Stat(filepath.Join(outDir, "idle.ovf")); err != nil {
		t.Errorf("no export after the idle phase: %v", err)
	}
}

func TestConnectErrors(t *testing.T) {
	srv := simvm.Start(t, vcsim.ModeESXi)
	for _, c := range []struct {
		name string
		cfg  common.ConnectConfig
		want string
	}{
		{"no server", common.ConnectConfig{VCenterServer: "127.0.0.1:1", Username: "u", Password: "p", InsecureConnection: true}, "connecting to 127.0.0.1:1"},
		{"untrusted certificate", common.ConnectConfig{VCenterServer: srv.Host, Username: "u", Password: "p"}, "insecure_connection = true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newStepRun(t)
			if r.run(&stepConnect{config: &c.cfg}) == multistep.ActionContinue {
				t.Fatal("connected")
			}
			err, _ := r.state.Get("error").(error)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want it to mention %q", err, c.want)
			}
			if _, ok := r.state.GetOk("client"); ok {
				t.Error("a client was stored after a failed connect")
			}
		})
	}
}
