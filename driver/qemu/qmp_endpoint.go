package qemu

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
)

// qmpEndpoint is where QEMU's QMP chardev meets our client. On Unix it is a
// socketpair whose one end QEMU inherits as fd 3 (qmp_unix.go): no socket
// file to place, clean up or keep under the 108-byte path limit, and no
// other process can connect. Where there is no fd passing (Windows) it is a
// listener on 127.0.0.1 that QEMU connects to (tcpEndpoint).
type qmpEndpoint struct {
	// chardev is the -chardev value after "socket,id=qmp,".
	chardev string
	// inherit is QEMU's end, passed as fd 3 (nil for none); closed by
	// started once QEMU holds its copy.
	inherit *os.File
	// connect returns our end of the connection once QEMU is on it; the
	// caller owns it then.
	connect func(ctx context.Context) (net.Conn, error)
	// release frees whatever connect did not hand over; safe to call twice.
	release func()
}

// started closes our copy of QEMU's end, so QEMU exiting ends our reads.
func (e *qmpEndpoint) started() {
	if e.inherit != nil {
		e.inherit.Close()
		e.inherit = nil
	}
}

// newQMPEndpoint is the platform's endpoint; a variable so a test can run
// the portable one on Linux.
var newQMPEndpoint = defaultQMPEndpoint

// tcpEndpoint listens on a free 127.0.0.1 port for QEMU's QMP chardev, which
// connects as a client: the port is ours from the start (no pick-then-bind
// race), and QEMU never listens, so no other local process can reach its
// monitor. A process that connects to us first only makes QEMU's own
// connect fail, and QEMU exits: the build fails, nothing is taken over.
func tcpEndpoint() (*qmpEndpoint, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for QEMU's QMP connection: %w", err)
	}
	var once sync.Once
	closeListener := func() { once.Do(func() { l.Close() }) }
	port := l.Addr().(*net.TCPAddr).Port
	return &qmpEndpoint{
		chardev: "host=127.0.0.1,port=" + strconv.Itoa(port),
		connect: func(ctx context.Context) (net.Conn, error) {
			stop := context.AfterFunc(ctx, closeListener)
			defer stop()
			conn, err := l.Accept()
			closeListener() // one connection, QEMU's
			if err != nil {
				return nil, fmt.Errorf("waiting for QEMU's QMP connection on 127.0.0.1:%d: %w", port, ctxErr(ctx, err))
			}
			return conn, nil
		},
		release: closeListener,
	}, nil
}
