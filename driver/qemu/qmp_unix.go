//go:build unix

package qemu

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
)

func defaultQMPEndpoint() (*qmpEndpoint, error) { return socketpairEndpoint() }

// socketpairEndpoint: QEMU inherits one end as fd 3 (exec.Cmd.ExtraFiles).
func socketpairEndpoint() (*qmpEndpoint, error) {
	fds, err := socketpair()
	if err != nil {
		return nil, fmt.Errorf("socketpair for QMP: %w", err)
	}
	ours := os.NewFile(uintptr(fds[0]), "qmp")
	defer ours.Close() // FileConn dups it
	conn, err := net.FileConn(ours)
	if err != nil {
		syscall.Close(fds[1])
		return nil, fmt.Errorf("QMP socket: %w", err)
	}
	var once sync.Once
	taken := false
	e := &qmpEndpoint{chardev: "fd=3", inherit: os.NewFile(uintptr(fds[1]), "qmp-qemu")}
	e.connect = func(context.Context) (net.Conn, error) {
		taken = true
		return conn, nil
	}
	e.release = func() {
		once.Do(func() {
			e.started()
			if !taken {
				conn.Close()
			}
		})
	}
	return e, nil
}
