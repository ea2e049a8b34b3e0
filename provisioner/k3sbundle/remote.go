package k3sbundle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
)

// Time the guest gets to clean up after a cancel or failure: removing the
// staging folder, and the script's own rollback once it saw the marker.
const (
	cleanupTimeout  = 60 * time.Second
	cancelTimeout   = 30 * time.Second
	rollbackTimeout = 2 * time.Minute
)

// guest runs commands on the machine being built and uploads files to it.
type guest struct {
	comm packersdk.Communicator
	ui   packersdk.Ui
}

// install uploads files to a private staging folder under remoteDir, then
// runs the generated script (through executeCommand) that installs them,
// verifies and cleans up, and rolls the guest back if any step fails.
func (g *guest) install(ctx context.Context, c *Config, files []file, images []string) error {
	staging := path.Join(c.RemoteDir, "k3s-bundle-"+randomHex())
	if err := g.run(ctx, "mkdir -m 0700 "+staging, false); err != nil {
		return fmt.Errorf("create staging folder on the guest (remote_dir %s): %w", c.RemoteDir, err)
	}
	// Whatever happens next, the staging folder goes; the script removes it
	// too, this is for failures before or around it. Root-owned leftovers
	// are removed by the script's own rollback.
	scriptStarted := false
	defer func() {
		if scriptStarted && ctx.Err() != nil {
			// The script may still be rolling back from its journal in the
			// staging folder; it removes the folder itself.
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = g.run(cctx, "rm -rf "+staging, true)
	}()
	for _, f := range files {
		if err := g.upload(ctx, f, staging); err != nil {
			return err
		}
	}
	script := installScript(c, staging, files, images)
	scriptPath := path.Join(staging, "k3s-bundle.sh")
	if err := g.upload(ctx, file{data: []byte(script), name: "k3s-bundle.sh", label: "install script"}, staging); err != nil {
		return err
	}
	ictx := &interpolate.Context{Data: map[string]string{"Path": scriptPath, "Vars": ""}}
	cmd, err := interpolate.Render(c.ExecuteCommand, ictx)
	if err != nil {
		return fmt.Errorf("execute_command: %w", err)
	}
	g.ui.Say("Running the k3s-bundle install script on the guest")
	// A cancelled build cannot signal the root-owned script through SSH, so
	// it drops a marker the script polls between steps; the script then rolls
	// back and exits, and we wait for that before removing the staging folder.
	cancelled := func() {
		g.ui.Say("Build cancelled: asking the guest script to roll back")
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
		defer cancel()
		_ = g.run(cctx, "touch "+path.Join(staging, "cancel"), true)
	}
	scriptStarted = true
	if err := g.runCancel(ctx, cmd, false, cancelled, rollbackTimeout); err != nil {
		return fmt.Errorf("install k3s bundle: %w", err)
	}
	return nil
}

// upload sends a file to <staging>/<name>.part and renames it, so a broken
// transfer never leaves a complete-looking file.
func (g *guest) upload(ctx context.Context, f file, staging string) error {
	var r io.ReadCloser
	var size int64
	if f.local != "" {
		fh, err := os.Open(f.local)
		if err != nil {
			return fmt.Errorf("%s: %w", f.label, err)
		}
		fi, err := fh.Stat()
		if err != nil {
			fh.Close()
			return fmt.Errorf("%s: %w", f.label, err)
		}
		r, size = fh, fi.Size()
	} else {
		r, size = io.NopCloser(bytes.NewReader(f.data)), int64(len(f.data))
	}
	defer r.Close()
	dst := path.Join(staging, f.name)
	if size > 1<<20 {
		r = progress.Track(g.ui, path.Base(f.dest), size, r)
		defer r.Close()
	}
	if err := g.comm.Upload(dst+".part", ctxio.Reader(ctx, r), nil); err != nil {
		return fmt.Errorf("upload %s to %s: %w", f.label, dst, err)
	}
	if err := g.run(ctx, "mv -f "+dst+".part "+dst, true); err != nil {
		return fmt.Errorf("upload %s: %w", f.label, err)
	}
	return nil
}

// run runs a command and returns an error naming it, its exit code and the
// tail of its stderr. Unless quiet, output lines go to the UI.
func (g *guest) run(ctx context.Context, command string, quiet bool) error {
	return g.runCancel(ctx, command, quiet, nil, 0)
}

// runCancel is run that, when ctx ends, calls onCancel and waits up to
// grace for the command to finish (its own rollback) before returning.
func (g *guest) runCancel(ctx context.Context, command string, quiet bool, onCancel func(), grace time.Duration) error {
	var stdout, stderr tailBuffer
	rc := &packersdk.RemoteCmd{Command: command, Stdout: &stdout, Stderr: &stderr}
	if !quiet {
		rc.Stdout = io.MultiWriter(&stdout, &lineUi{ui: g.ui})
		rc.Stderr = io.MultiWriter(&stderr, &lineUi{ui: g.ui})
	}
	if err := g.comm.Start(ctx, rc); err != nil {
		return fmt.Errorf("start remote command %q: %w", command, err)
	}
	done := make(chan int, 1)
	go func() { done <- rc.Wait() }()
	var code int
	select {
	case code = <-done:
	case <-ctx.Done():
		if onCancel != nil {
			onCancel()
			select {
			case <-done:
			case <-time.After(grace):
			}
		}
		return fmt.Errorf("remote command %q: %w", command, ctx.Err())
	}
	if code != 0 {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return fmt.Errorf("remote command %q exited with status %d: %s", command, code, msg)
	}
	return nil
}

// tailBuffer keeps the last 4 KiB written.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// lineUi forwards complete lines to the UI.
type lineUi struct {
	ui  packersdk.Ui
	buf []byte
}

func (l *lineUi) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.ui.Say(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
