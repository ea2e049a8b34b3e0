package vsphereovaqemu

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/bootcommand"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
)

// bootCommandData is what boot_command may use, as in Packer's qemu
// builder: {{ .HTTPIP }}, {{ .HTTPPort }}, {{ .Name }}.
type bootCommandData struct {
	HTTPIP   string
	HTTPPort int
	Name     string
}

// vncConsole is the machine's VNC console (a *qemu.Machine).
type vncConsole interface {
	VNCAddress(ctx context.Context) (string, error)
}

// stepTypeBootCommand waits boot_wait, then types boot_command on the
// machine's console through its VNC server, with the SDK's VNC driver (the
// keys and timing of Packer's qemu builder). Nothing happens without a
// boot_command.
type stepTypeBootCommand struct {
	config *QEMUConfig
	vmName string
	ictx   *interpolate.Context // the configuration's, for {{ }} functions
}

func (s *stepTypeBootCommand) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	if len(s.config.BootCommand) == 0 {
		return multistep.ActionContinue
	}
	ui := state.Get("ui").(packersdk.Ui)
	m := state.Get("machine").(vncConsole)
	if w := s.config.BootWait; w > 0 {
		ui.Say(fmt.Sprintf("Waiting %s (boot_wait) before typing the boot command ...", w))
		select {
		case <-time.After(w):
		case <-ctx.Done():
			return halt(state, ctx.Err())
		}
	}
	addr, err := m.VNCAddress(ctx)
	if err == nil && addr == "" {
		err = fmt.Errorf("the machine has no VNC console")
	}
	if err != nil {
		return halt(state, fmt.Errorf("boot_command: %w", err))
	}
	ictx := *s.ictx
	port, _ := state.Get("http_port").(int)
	ictx.Data = &bootCommandData{HTTPIP: "10.0.2.2", HTTPPort: port, Name: s.vmName}
	command, err := interpolate.Render(s.config.FlatBootCommand(), &ictx)
	if err != nil {
		return halt(state, fmt.Errorf("boot_command: %w", err))
	}
	seq, err := bootcommand.GenerateExpressionSequence(command)
	if err != nil {
		return halt(state, fmt.Errorf("boot_command: %w", err))
	}
	c, err := qemu.DialVNC(ctx, addr)
	if err != nil {
		return halt(state, fmt.Errorf("boot_command: %w", err))
	}
	defer c.Close()
	ui.Say(fmt.Sprintf("Typing the boot command over VNC (%s) ...", addr))
	if err := seq.Do(ctx, bootcommand.NewVNCDriver(c, s.config.BootKeyInterval)); err != nil {
		return halt(state, fmt.Errorf("typing the boot command: %w", err))
	}
	return multistep.ActionContinue
}

func (s *stepTypeBootCommand) Cleanup(multistep.StateBag) {}
