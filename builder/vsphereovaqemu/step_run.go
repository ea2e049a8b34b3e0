package vsphereovaqemu

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/qemu"
)

// The QEMU process is the machine common.StepShutdown shuts down.
var _ common.Machine = (*qemu.Machine)(nil)

// stepRun boots the machine the OVF describes, with the user's overrides,
// on the working disks, and forwards 127.0.0.1:<free port> to the
// communicator's port in the guest. QEMU lives as long as the build's
// context: Ctrl-C kills it at once, and Cleanup kills a machine still
// running after a failure.
type stepRun struct {
	config  *Config
	machine *qemu.Machine
}

func (s *stepRun) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	cfg, err := s.machineConfig(state)
	if err != nil {
		return halt(state, err)
	}
	ui.Say(fmt.Sprintf("Starting QEMU: %d CPU(s), %d MiB, %s, %s ...", cfg.CPUs, cfg.MemoryMiB, cfg.Firmware, describeStorage(cfg)))
	m, err := qemu.Start(ctx, cfg)
	if err != nil {
		return halt(state, err)
	}
	s.machine = m
	state.Put("machine", m)
	ui.Say(fmt.Sprintf("QEMU is running (pid %d, %s); guest port %d is 127.0.0.1:%d", m.PID, m.Accelerator, cfg.ForwardPort, m.HostPort))
	if m.Accelerator == "tcg" {
		ui.Say(tcgWarning(runtime.GOOS))
	}
	if addr, err := m.VNCAddress(ctx); err == nil && addr != "" {
		ui.Say("VNC console on " + addr)
	}
	state.Put("ssh_host_port", m.HostPort)
	gd := state.Get("generated_data").(map[string]interface{})
	gd["Host"], gd["Port"] = "127.0.0.1", m.HostPort
	gd["HTTPIP"] = "10.0.2.2" // the host, as QEMU's user network shows it
	if p, ok := state.GetOk("http_port"); ok {
		gd["HTTPPort"] = p
	}
	return multistep.ActionContinue
}

// machineConfig merges the OVF's machine with the user's overrides.
func (s *stepRun) machineConfig(state multistep.StateBag) (qemu.Config, error) {
	c := s.config
	m := state.Get("ovf_machine").(*ovfMachine)
	disks := state.Get("work_disks").([]workDisk)
	ui := state.Get("ui").(packersdk.Ui)
	cfg := qemu.Config{
		Binary:         c.QEMUBinary,
		Accelerator:    c.Accelerator,
		MachineType:    c.MachineType,
		CPUs:           m.CPUs,
		CoresPerSocket: m.CoresPerSocket,
		CPUModel:       c.CPUModel,
		MemoryMiB:      int(m.MemoryMiB),
		Firmware:       m.Firmware,
		SecureBoot:     m.SecureBoot,
		OVMFCode:       c.EFIFirmwareCode,
		OVMFVars:       c.EFIFirmwareVars,
		NICs:           m.NICs,
		VNCBindAddress: c.vncAddress(),
		ExtraArgs:      c.extraArgs(),
		Logf:           log.Printf,
	}
	if c.CPUs > 0 {
		cfg.CPUs = c.CPUs
		if c.CpuCores == 0 && cfg.CoresPerSocket > 0 && cfg.CPUs%cfg.CoresPerSocket != 0 {
			cfg.CoresPerSocket = 0 // the OVF's grouping does not fit: one socket
		}
	}
	if c.CpuCores > 0 {
		cfg.CoresPerSocket = c.CpuCores
	}
	if c.RAM > 0 {
		cfg.MemoryMiB = int(c.RAM)
	}
	if fw, secure, set := c.firmwareSettings(); set {
		cfg.Firmware, cfg.SecureBoot = fw, secure
	}
	for i, t := range m.Controllers {
		if i < len(c.DiskControllerType) && c.DiskControllerType[i] != "" {
			t = c.DiskControllerType[i]
		}
		if t == qemu.LSILogicSAS {
			ui.Say("Warning: the boot disk controller is LSI Logic SAS; QEMU's model of it (mptsas1068) boots no Linux disk here. Set disk_controller_type = [\"pvscsi\"] (or sata/nvme) for the build; the export keeps lsilogicsas")
		}
		cfg.Controllers = append(cfg.Controllers, qemu.Controller{Type: t})
	}
	for i, d := range m.Disks {
		cfg.Disks = append(cfg.Disks, qemu.Disk{Path: disks[i].Path, Format: "raw", Controller: d.Controller, Unit: d.Unit})
	}
	for _, key := range []string{"cd_path", "ovf_env_path"} {
		if p, ok := state.GetOk(key); ok && p.(string) != "" {
			cfg.CDROMs = append(cfg.CDROMs, p.(string))
		}
	}
	if c.Comm.Type != "none" {
		cfg.ForwardPort = c.Comm.Port()
	}
	if w, ok := state.GetOk("work_dir"); ok {
		cfg.WorkDir = filepath.Join(w.(string), qemuSubdir)
	}
	return cfg, nil
}

func describeStorage(c qemu.Config) string {
	var ctls []string
	for _, ctl := range c.Controllers {
		ctls = append(ctls, ctl.Type)
	}
	return fmt.Sprintf("%d disk(s) on %v", len(c.Disks), ctls)
}

// Cleanup kills a machine still running (a failed or cancelled build): the
// guest's disks are thrown away anyway.
func (s *stepRun) Cleanup(state multistep.StateBag) {
	if s.machine == nil {
		return
	}
	select {
	case <-s.machine.Exited():
	default:
		state.Get("ui").(packersdk.Ui).Say(fmt.Sprintf("Stopping QEMU (pid %d) ...", s.machine.PID))
		s.machine.Kill()
	}
	s.machine = nil
}

// tcgWarning is said when the machine runs under TCG.
func tcgWarning(goos string) string {
	hw := "hardware accelerator"
	if h := qemu.HostAccelerator(goos); h != "" {
		hw = strings.ToUpper(h)
	}
	return "Warning: no usable " + hw + ", running under TCG (software emulation): boots take minutes, not seconds"
}
