package qemu

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vnctest"
)

// The client completes the handshake and sends key events as RFB
// KeyEvent messages: down flag and keysym.
func TestVNCClientKeyEvents(t *testing.T) {
	addr, keys := vnctest.Serve(t, 2, 1)
	c, err := DialVNC(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	down, up := func(k uint32) vnctest.Key { return vnctest.Key{Down: true, Keysym: k} }, func(k uint32) vnctest.Key { return vnctest.Key{Keysym: k} }
	want := []vnctest.Key{down(0xFFE1), down('A'), up('A'), up(0xFFE1), down(0xFF0D)}
	for _, k := range want {
		if err := c.KeyEvent(k.Keysym, k.Down); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	var got []vnctest.Key
	for k := range keys {
		got = append(got, k)
	}
	if !slices.Equal(got, want) {
		t.Errorf("server received %v, want %v", got, want)
	}
}

// A server that wants a password, or refuses, is a clear error.
func TestVNCClientRefused(t *testing.T) {
	for _, tc := range []struct {
		types []byte
		want  string
	}{{[]byte{2}, "offers security types [2], not None (1): a VNC password or TLS is not supported"}, {nil, "refused the connection: busy"}} {
		addr, _ := vnctest.Serve(t, tc.types...)
		_, err := DialVNC(context.Background(), addr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("types %v: %v, want %q", tc.types, err, tc.want)
		}
	}
}
