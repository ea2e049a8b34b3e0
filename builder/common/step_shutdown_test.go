package common

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// fakeMachine powers off when asked (if obliging), or when powerOff is called.
type fakeMachine struct {
	mu        sync.Mutex
	asked     int
	askErr    error
	obliging  bool
	off       chan struct{}
	closeOnce sync.Once
}

func newFakeMachine(obliging bool) *fakeMachine {
	return &fakeMachine{obliging: obliging, off: make(chan struct{})}
}

func (m *fakeMachine) powerOff() { m.closeOnce.Do(func() { close(m.off) }) }

func (m *fakeMachine) ShutdownGuest(context.Context) error {
	m.mu.Lock()
	m.asked++
	m.mu.Unlock()
	if m.askErr != nil {
		return m.askErr
	}
	if m.obliging {
		m.powerOff()
	}
	return nil
}

func (m *fakeMachine) WaitForPowerOff(ctx context.Context) error {
	select {
	case <-m.off:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fakeComm powers the machine off when it runs a command.
type fakeComm struct {
	packersdk.MockCommunicator
	m   *fakeMachine
	cmd string
}

func (c *fakeComm) Start(_ context.Context, rc *packersdk.RemoteCmd) error {
	c.cmd = rc.Command
	c.m.powerOff()
	return nil
}

func TestShutdown(t *testing.T) {
	for _, c := range []struct {
		name      string
		cfg       ShutdownConfig
		commType  string
		machine   func() *fakeMachine
		wantAsked int
		wantCmd   string
		wantErr   string
	}{
		{"tools", ShutdownConfig{Timeout: time.Minute}, "ssh", func() *fakeMachine { return newFakeMachine(true) }, 1, "", ""},
		{"shutdown_command", ShutdownConfig{Command: "sudo poweroff", Timeout: time.Minute}, "ssh", func() *fakeMachine { return newFakeMachine(false) }, 0, "sudo poweroff", ""},
		{"communicator none uses tools", ShutdownConfig{Command: "sudo poweroff", Timeout: time.Minute}, "none", func() *fakeMachine { return newFakeMachine(true) }, 1, "", ""},
		{"disable_shutdown", ShutdownConfig{DisableShutdown: true, Timeout: time.Minute}, "ssh", func() *fakeMachine {
			m := newFakeMachine(false)
			time.AfterFunc(100*time.Millisecond, m.powerOff) // the guest powers itself off
			return m
		}, 0, "", ""},
		{"timeout", ShutdownConfig{Timeout: 200 * time.Millisecond}, "ssh", func() *fakeMachine { return newFakeMachine(false) }, 1, "", "did not power off within shutdown_timeout = 200ms"},
		{"tools fail", ShutdownConfig{Timeout: time.Minute}, "ssh", func() *fakeMachine {
			m := newFakeMachine(true)
			m.askErr = errors.New("no VMware Tools")
			return m
		}, 1, "", "no VMware Tools"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := c.machine()
			comm := &fakeComm{m: m}
			ui, out := testUI()
			state := new(multistep.BasicStateBag)
			state.Put("ui", ui)
			state.Put("machine", Machine(m))
			state.Put("communicator", packersdk.Communicator(comm))
			step := &StepShutdown{Config: &c.cfg, CommType: c.commType, GuestShutdown: "VMware Tools"}
			a := step.Run(context.Background(), state)
			step.Cleanup(state)
			t.Logf("step output:\n%s", out.String())
			err, _ := state.Get("error").(error)
			if c.wantErr == "" && a != multistep.ActionContinue {
				t.Fatalf("shutdown failed: %v", err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			if m.asked != c.wantAsked || comm.cmd != c.wantCmd {
				t.Errorf("asked the guest %d times and ran %q; want %d and %q", m.asked, comm.cmd, c.wantAsked, c.wantCmd)
			}
		})
	}
}
