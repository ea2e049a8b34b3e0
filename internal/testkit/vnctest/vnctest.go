// Package vnctest is a fake VNC server for tests: the RFB 3.8 handshake
// QEMU's server does without a password, then it records every KeyEvent.
package vnctest

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
)

// Key is one RFB KeyEvent: an X11 keysym pressed (Down) or released.
type Key struct {
	Down   bool
	Keysym uint32
}

// Serve listens on 127.0.0.1, offers secTypes (1 is None; none at all
// refuses the connection with the reason "busy"), accepts one client and
// sends its key events to the channel, closed when the client leaves. It
// returns the host:port.
func Serve(t testing.TB, secTypes ...byte) (addr string, keys <-chan Key) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan Key, 1000)
	go func() {
		defer close(ch)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		if handshake(c, secTypes) {
			readKeys(c, ch)
		}
	}()
	return ln.Addr().String(), ch
}

func handshake(c net.Conn, secTypes []byte) bool {
	var buf [12]byte
	c.Write([]byte("RFB 003.008\n"))
	if _, err := io.ReadFull(c, buf[:]); err != nil || string(buf[:]) != "RFB 003.008\n" {
		return false
	}
	c.Write(append([]byte{byte(len(secTypes))}, secTypes...))
	if len(secTypes) == 0 {
		c.Write([]byte{0, 0, 0, 4, 'b', 'u', 's', 'y'})
		return false
	}
	if _, err := io.ReadFull(c, buf[:1]); err != nil || buf[0] != 1 {
		return false
	}
	c.Write([]byte{0, 0, 0, 0}) // SecurityResult: OK
	// ClientInit (the shared flag)
	if _, err := io.ReadFull(c, buf[:1]); err != nil {
		return false
	}
	init := make([]byte, 24, 28) // ServerInit, 0x0 screen, name "qemu"
	binary.BigEndian.PutUint32(init[20:], 4)
	c.Write(append(init, "qemu"...))
	return true
}

func readKeys(c net.Conn, ch chan<- Key) {
	for {
		var m [8]byte
		if _, err := io.ReadFull(c, m[:]); err != nil || m[0] != 4 {
			return
		}
		ch <- Key{Down: m[1] == 1, Keysym: binary.BigEndian.Uint32(m[4:])}
	}
}
