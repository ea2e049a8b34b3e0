package vcsim

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

func TestStartRejects(t *testing.T) {
	if _, err := Start(t.Context(), "vsan"); err == nil || !strings.Contains(err.Error(), "vsan") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := StartOn(t.Context(), ModeESXi, "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback listen: %v", err)
	}
	if _, err := StartWith(t.Context(), Options{Mode: ModeESXi, SessionTimeout: -time.Second}); err == nil || !strings.Contains(err.Error(), "SessionTimeout") {
		t.Errorf("negative session timeout: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Start(ctx, ModeESXi); err == nil {
		t.Error("Start with a cancelled context succeeded")
	}
}

// login opens a session on s the way a builder does.
func login(t *testing.T, s *Server) *vim25.Client {
	t.Helper()
	u := &url.URL{Scheme: "https", Host: s.Host, Path: "/sdk"}
	c, err := vim25.NewClient(t.Context(), soap.NewClient(u, true))
	if err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(c).Login(t.Context(), url.UserPassword(s.Username, s.Password)); err != nil {
		t.Fatal(err)
	}
	return c
}

// With SessionTimeout, a session that idles past it is dropped, and one that
// keeps calling is not. Without it (vcsim's default), nothing expires. The
// busy session calls ten times per timeout: a margin for a loaded machine.
func TestSessionTimeout(t *testing.T) {
	const timeout = time.Second
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s, err := StartWith(t.Context(), Options{Mode: mode, SessionTimeout: timeout})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			idle, busy := login(t, s), login(t, s)
			sm := session.NewManager(busy)
			for end := time.Now().Add(3 * timeout); time.Now().Before(end); time.Sleep(timeout / 10) {
				if _, err := sm.UserSession(t.Context()); err != nil {
					t.Fatalf("a session in use expired: %v", err)
				}
			}
			if us, err := session.NewManager(idle).UserSession(t.Context()); err != nil || us != nil {
				t.Errorf("idle session after %s: session %v, err %v; want it gone", 3*timeout, us, err)
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		s, err := Start(t.Context(), ModeESXi)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		c := login(t, s)
		time.Sleep(3 * timeout)
		if us, err := session.NewManager(c).UserSession(t.Context()); err != nil || us == nil {
			t.Errorf("session without SessionTimeout: %v, %v; want it alive", us, err)
		}
	})
}
