//go:build windows

package qemu

// defaultQMPEndpoint: Windows passes no file descriptors to a child, so
// QEMU connects to a listener on 127.0.0.1 instead.
func defaultQMPEndpoint() (*qmpEndpoint, error) { return tcpEndpoint() }
