// Package qemu runs virtual machines under QEMU with the hardware a vSphere
// VM has (pvscsi, AHCI, NVMe, LSI SAS; vmxnet3, e1000e; SeaBIOS or OVMF),
// for the vsphere-ova-qemu builder. This file is the driver's lifecycle:
// Start, Wait, Shutdown, Kill. It has no Packer imports.
//
// QEMU runs in its own process group, killed as a whole when the context
// given to Start ends or Kill is called, and with PDEATHSIG so it dies with
// the calling process: nothing outlives a build or a test. On Windows a job
// object does both (proc_windows.go); macOS has no PDEATHSIG.
package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
)

// WorkDirPrefix names the work folders Start makes in TMPDIR (Config.WorkDir
// unset), locked while their machine's process lives, so that a later
// build can remove those of killed ones (atomicfile.RemoveStale).
const WorkDirPrefix = "ovakit-qemu-"

// Machine is a running QEMU process.
type Machine struct {
	// Accelerator is what QEMU runs with: "kvm", "hvf", "whpx" or "tcg".
	Accelerator string
	// HostPort is the 127.0.0.1 port forwarded to Config.ForwardPort (0
	// without a forward).
	HostPort int
	// SerialLog is the file receiving the guest's serial console.
	SerialLog string
	// WorkDir holds the machine's own files.
	WorkDir string
	// PID is QEMU's process id (and process group id).
	PID int

	cfg       Config
	cmd       *exec.Cmd
	qmp       *qmp
	output    *tailBuffer
	ownDir    bool
	stopWatch func() bool
	release   func() // ends guardProcess's hold once QEMU is reaped

	mu     sync.Mutex // orders kill against reaping, so a reused PID is never signalled
	exited bool
	done   chan struct{}
	err    error
}

// errPortTaken: another process took the forwarded port between our pick
// and QEMU's bind; Start retries with a new one.
var errPortTaken = errors.New("host port taken")

// Start boots a machine. It lives until ctx ends (then it is killed: the
// build was cancelled), Kill is called, or the guest powers off.
func Start(ctx context.Context, cfg Config) (*Machine, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("qemu configuration: %w", err)
	}
	accel := c.Accelerator
	if accel == "auto" {
		var reason string
		accel, reason = ProbeAccelerator(ctx, c.Binary)
		if accel == "tcg" {
			c.Logf("qemu: accelerator auto: using TCG, software emulation, many times slower than hardware virtualisation (%s)", reason)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if w := firmwareWarning(&c); w != "" {
		c.Logf("qemu: warning: %s", w)
	}
	for attempt := 1; ; attempt++ {
		m, err := start(ctx, c, accel)
		if errors.Is(err, errPortTaken) && c.HostPort == 0 && attempt < 5 {
			c.Logf("qemu: %v; retrying with another port", err)
			continue
		}
		return m, err
	}
}

// start launches QEMU once and waits for its QMP greeting.
func start(ctx context.Context, c Config, accel string) (m *Machine, err error) {
	m = &Machine{Accelerator: accel, cfg: c, WorkDir: c.WorkDir, done: make(chan struct{}), output: &tailBuffer{max: 32 << 10}}
	if m.WorkDir == "" {
		if m.WorkDir, err = atomicfile.TempDir("", WorkDirPrefix); err != nil {
			return nil, err
		}
		m.ownDir = true
	}
	started := false
	defer func() {
		if !started && m.ownDir {
			atomicfile.RemoveTemp(m.WorkDir)
		}
	}()
	m.SerialLog = c.SerialLog
	if m.SerialLog == "" {
		m.SerialLog = filepath.Join(m.WorkDir, "serial.log")
	}
	if c.ForwardPort > 0 {
		if m.HostPort = c.HostPort; m.HostPort == 0 {
			if m.HostPort, err = freePort(); err != nil {
				return nil, err
			}
		}
	}
	ep, err := newQMPEndpoint()
	if err != nil {
		return nil, err
	}
	defer ep.release() // what QMP did not take, on every return
	args, err := commandLine(&c, runtime{accel: accel, hostPort: m.HostPort, workDir: m.WorkDir, serialLog: m.SerialLog, qmpChardev: ep.chardev})
	if err != nil {
		return nil, err
	}
	m.cmd = exec.Command(c.Binary, args...)
	if ep.inherit != nil {
		m.cmd.ExtraFiles = []*os.File{ep.inherit} // fd 3
	}
	m.cmd.Stdout, m.cmd.Stderr = m.output, m.output
	m.cmd.SysProcAttr = procAttr()
	c.Logf("qemu: %s %s", c.Binary, strings.Join(args, " "))
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", c.Binary, err)
	}
	started = true
	// QEMU has its own copy now; ours must go, or QEMU exiting would not
	// end our read of the greeting.
	ep.started()
	m.PID = m.cmd.Process.Pid
	if m.release, err = guardProcess(m.cmd.Process); err != nil {
		killTree(m.cmd.Process)
		m.cmd.Wait()
		m.release = func() {}
		started = false
		return nil, err
	}
	// Set before reap starts: reap reads it from its own goroutine.
	m.stopWatch = context.AfterFunc(ctx, m.kill)
	go m.reap()

	q, err := m.connectQMP(ctx, ep)
	if err != nil {
		m.Kill()
		out := m.output.String()
		if strings.Contains(out, "host forwarding rule") {
			return nil, fmt.Errorf("%w: 127.0.0.1:%d: %s", errPortTaken, m.HostPort, strings.TrimSpace(out))
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("qemu did not start: %v: %s", err, strings.TrimSpace(out))
	}
	// reap reads m.qmp under m.mu; if QEMU already exited, reap has run
	// and the connection is ours to close.
	m.mu.Lock()
	m.qmp = q
	exited := m.exited
	m.mu.Unlock()
	if exited {
		q.close()
	}
	return m, nil
}

// connectQMP waits (up to a minute) for QEMU on the endpoint and for its
// greeting; QEMU exiting first ends the wait.
func (m *Machine) connectQMP(ctx context.Context, ep *qmpEndpoint) (*qmp, error) {
	hctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	go func() {
		select {
		case <-m.done:
			cancel()
		case <-hctx.Done():
		}
	}()
	conn, err := ep.connect(hctx)
	if err == nil {
		var q *qmp
		if q, err = newQMP(hctx, conn, m.cfg.Logf); err == nil {
			return q, nil
		}
		conn.Close()
	}
	select {
	case <-m.done:
		return nil, errors.New("QEMU exited before its QMP greeting")
	default:
		return nil, err
	}
}

// reap waits for QEMU to exit, then releases everything the machine holds.
func (m *Machine) reap() {
	err := m.cmd.Wait()
	m.mu.Lock()
	m.exited = true
	q := m.qmp
	m.mu.Unlock()
	m.release()
	if m.stopWatch != nil {
		m.stopWatch()
	}
	if q != nil {
		q.close()
	}
	if err != nil {
		err = fmt.Errorf("qemu exited: %w: %s", err, strings.TrimSpace(m.output.String()))
	}
	if m.ownDir {
		if rmErr := atomicfile.RemoveTemp(m.WorkDir); rmErr != nil {
			err = errors.Join(err, rmErr)
		}
	}
	m.err = err
	close(m.done)
}

// kill sends SIGKILL to QEMU's process group unless it has been reaped.
func (m *Machine) kill() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.exited {
		killTree(m.cmd.Process)
	}
}

// Kill stops the machine at once (a power cut, the guest loses unwritten
// data) and waits until QEMU is gone and its work folder removed.
func (m *Machine) Kill() {
	m.kill()
	<-m.done
}

// Exited is closed once QEMU has exited and been cleaned up.
func (m *Machine) Exited() <-chan struct{} { return m.done }

// Err is how QEMU exited: nil after a guest power-off; valid after Exited.
func (m *Machine) Err() error {
	<-m.done
	return m.err
}

// Wait waits until QEMU exits and returns Err, or returns ctx's error if ctx
// ends first (the machine keeps running then).
func (m *Machine) Wait(ctx context.Context) error {
	select {
	case <-m.done:
		return m.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown presses the ACPI power button (QMP system_powerdown) and waits
// for the guest to power off. A guest still running when ctx ends is an
// error, not killed: the caller decides (Kill) and says so.
func (m *Machine) Shutdown(ctx context.Context) error {
	if err := m.ShutdownGuest(ctx); err != nil {
		return err
	}
	err := m.WaitForPowerOff(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("the guest did not power off after the ACPI power button (QMP system_powerdown): %w", ctx.Err())
	}
	return err
}

// ShutdownGuest presses the ACPI power button (QMP system_powerdown) and
// returns without waiting; a guest already off is no error.
func (m *Machine) ShutdownGuest(ctx context.Context) error {
	select {
	case <-m.done:
		return m.err
	default:
	}
	if err := m.qmp.execute(ctx, "system_powerdown", nil, nil); err != nil {
		select {
		case <-m.done: // powered off just before
			return m.err
		default:
			return err
		}
	}
	return nil
}

// WaitForPowerOff waits for the guest to power off, which makes QEMU exit:
// Wait, under the name common.Machine gives it.
func (m *Machine) WaitForPowerOff(ctx context.Context) error { return m.Wait(ctx) }

// Status returns QEMU's run state (QMP query-status): "running",
// "paused", "shutdown", ...
func (m *Machine) Status(ctx context.Context) (string, error) {
	var st struct {
		Status string `json:"status"`
	}
	if err := m.qmp.execute(ctx, "query-status", nil, &st); err != nil {
		return "", err
	}
	return st.Status, nil
}

// VNCAddress returns the VNC console's host:port ("" without VNC).
func (m *Machine) VNCAddress(ctx context.Context) (string, error) {
	if m.cfg.VNCBindAddress == "" {
		return "", nil
	}
	var v struct {
		Host    string `json:"host"`
		Service string `json:"service"`
		Enabled bool   `json:"enabled"`
	}
	if err := m.qmp.execute(ctx, "query-vnc", nil, &v); err != nil {
		return "", err
	}
	if !v.Enabled {
		return "", errors.New("VNC is not enabled")
	}
	return v.Host + ":" + v.Service, nil
}
