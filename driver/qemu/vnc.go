package qemu

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// VNCClient is the smallest RFB client (RFC 6143, protocol 3.8) that types
// into QEMU's VNC server: the handshake without a password (QEMU's -vnc
// without password=on offers security type None), then KeyEvent messages.
// It never asks for the screen, so the server sends nothing to read.
type VNCClient struct {
	mu   sync.Mutex
	conn net.Conn
}

// vncHandshakeTimeout bounds the handshake: QEMU answers at once.
const vncHandshakeTimeout = 30 * time.Second

// DialVNC connects to the VNC server at addr (host:port, see
// Machine.VNCAddress) as a shared client, so a user watching the console
// stays connected.
func DialVNC(ctx context.Context, addr string) (*VNCClient, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to the VNC console: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	conn.SetDeadline(time.Now().Add(vncHandshakeTimeout))
	if err := vncHandshake(conn); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("VNC handshake with %s: %w", addr, err)
	}
	conn.SetDeadline(time.Time{})
	return &VNCClient{conn: conn}, nil
}

func vncHandshake(rw io.ReadWriter) error {
	var version [12]byte
	if _, err := io.ReadFull(rw, version[:]); err != nil {
		return fmt.Errorf("reading the server's version: %w", err)
	}
	if !bytes.HasPrefix(version[:], []byte("RFB 003.")) {
		return fmt.Errorf("not a VNC server (greeting %q)", version[:])
	}
	if _, err := rw.Write([]byte("RFB 003.008\n")); err != nil {
		return err
	}
	var n [1]byte
	if _, err := io.ReadFull(rw, n[:]); err != nil {
		return fmt.Errorf("reading the security types: %w", err)
	}
	if n[0] == 0 {
		return fmt.Errorf("the server refused the connection: %s", readReason(rw))
	}
	types := make([]byte, n[0])
	if _, err := io.ReadFull(rw, types); err != nil {
		return fmt.Errorf("reading the security types: %w", err)
	}
	if !bytes.Contains(types, []byte{1}) {
		return fmt.Errorf("the server offers security types %v, not None (1): a VNC password or TLS is not supported", types)
	}
	if _, err := rw.Write([]byte{1}); err != nil {
		return err
	}
	var result uint32
	if err := binary.Read(rw, binary.BigEndian, &result); err != nil {
		return fmt.Errorf("reading the security result: %w", err)
	}
	if result != 0 {
		return fmt.Errorf("the server refused the connection: %s", readReason(rw))
	}
	if _, err := rw.Write([]byte{1}); err != nil { // ClientInit: shared
		return err
	}
	// ServerInit: width, height (2+2), pixel format (16), name.
	var init [24]byte
	if _, err := io.ReadFull(rw, init[:]); err != nil {
		return fmt.Errorf("reading the server's init: %w", err)
	}
	nameLen := binary.BigEndian.Uint32(init[20:])
	if nameLen > 1<<16 {
		return fmt.Errorf("server name of %d bytes: not a VNC server", nameLen)
	}
	_, err := io.CopyN(io.Discard, rw, int64(nameLen))
	return err
}

// readReason reads an RFB failure reason (length, then text).
func readReason(r io.Reader) string {
	var n uint32
	if err := binary.Read(r, binary.BigEndian, &n); err != nil || n > 1<<16 {
		return "no reason given"
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "no reason given"
	}
	return string(b)
}

// KeyEvent presses (down) or releases an X11 keysym; QEMU turns it into
// the guest keyboard's scancode. It is the interface the Packer SDK's VNC
// boot-command driver types through.
func (c *VNCClient) KeyEvent(keysym uint32, down bool) error {
	msg := [8]byte{4} // KeyEvent
	if down {
		msg[1] = 1
	}
	binary.BigEndian.PutUint32(msg[4:], keysym)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return errors.New("VNC connection closed")
	}
	_, err := c.conn.Write(msg[:])
	return err
}

// Close ends the connection.
func (c *VNCClient) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}
