package vsphereova

import (
	"context"
	"fmt"
	"log"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// stepConnect logs in to vCenter or ESXi and keeps the session alive until
// Cleanup logs out.
type stepConnect struct{ config *common.ConnectConfig }

func (s *stepConnect) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	c, err := vsphere.Connect(ctx, s.config.Options())
	if err != nil {
		return halt(state, err)
	}
	state.Put("client", c)
	kind := "standalone ESXi host"
	if c.IsVC() {
		kind = "vCenter Server"
	}
	ui.Say(fmt.Sprintf("Connected to %s %s", kind, c.URL().Host))
	return multistep.ActionContinue
}

// Cleanup logs out, which also stops the keep-alive.
func (s *stepConnect) Cleanup(state multistep.StateBag) {
	c, ok := state.GetOk("client")
	if !ok {
		return
	}
	if err := vsphere.Logout(c.(*vsphere.Client)); err != nil {
		log.Printf("vSphere logout: %v", err)
	}
}
