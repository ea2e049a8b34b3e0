package qemu

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// tailBuffer keeps the last max bytes written (QEMU's stdout and stderr, for
// error messages).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append([]byte(nil), t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// CreateOverlay creates a qcow2 working copy at path whose reads fall
// through to backing (left untouched; format "raw", "qcow2" or "vmdk"), so
// a cached base disk boots without being copied or changed.
func CreateOverlay(ctx context.Context, qemuImg, backing, backingFormat, path string) error {
	if qemuImg == "" {
		qemuImg = "qemu-img"
	}
	abs, err := filepath.Abs(backing)
	if err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, qemuImg, "create", "-q", "-f", "qcow2", "-F", backingFormat, "-b", abs, path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("creating overlay %s on %s: %w: %s", path, backing, err, strings.TrimSpace(string(out)))
	}
	return nil
}
