package ova

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
)

// recTracker records TrackProgress calls: every step is a bar opened at
// the count done so far (cur), never advanced by reading the stream.
type recTracker struct {
	mu    sync.Mutex
	srcs  []string
	bars  []*recBar
	onCur func(cur, total int64) // optional: runs on every step
}

type recBar struct {
	src       string
	cur       int64
	total     int64
	readBytes int64
	closed    bool
	stream    io.ReadCloser
	mu        *sync.Mutex
}

func (r *recTracker) TrackProgress(src string, cur, total int64, stream io.ReadCloser) io.ReadCloser {
	r.mu.Lock()
	if len(r.bars) == 0 || r.bars[len(r.bars)-1].src != src {
		r.srcs = append(r.srcs, fmt.Sprintf("%s:%d", src, total))
	}
	b := &recBar{src: src, cur: cur, total: total, stream: stream, mu: &r.mu}
	r.bars = append(r.bars, b)
	on := r.onCur
	r.mu.Unlock()
	if on != nil {
		on(cur, total)
	}
	return b
}

func (b *recBar) Read(p []byte) (int, error) {
	n, err := b.stream.Read(p)
	b.mu.Lock()
	b.readBytes += int64(n)
	b.mu.Unlock()
	return n, err
}

func (b *recBar) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return b.stream.Close()
}

// last returns the last step shown for src.
func (r *recTracker) last(src string) *recBar {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.bars) - 1; i >= 0; i-- {
		if r.bars[i].src == src {
			return r.bars[i]
		}
	}
	return nil
}

// Cancelling mid-copy (after the first chunk of a disk went to the sinks)
// leaves no OVA, no checksum file and no temporary file.
func TestCancelMidCopyLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		withMF bool
		chunk  int // cancel after this many chunks of disk 0 (both passes count)
	}{
		{"one pass, copying disk 0", true, 1},
		{"two passes, hashing disk 0", false, 1},
		{"two passes, copying disk 0", false, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newExport(t, diskSizes...)
			if !tc.withMF {
				os.Remove(fx.mf)
			}
			outDir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var chunks, after int
			var mu sync.Mutex // disks are hashed in parallel
			testHookChunk = func(name string) {
				mu.Lock()
				defer mu.Unlock()
				if name != "vm-disk-0.vmdk" {
					return
				}
				if chunks++; chunks == tc.chunk {
					cancel()
				} else if chunks > tc.chunk {
					after++
				}
			}
			defer func() { testHookChunk = nil }()
			_, err := Pack(ctx, Options{OVFPath: fx.ovf, Output: filepath.Join(outDir, "vm.ova")})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Pack after cancel: %v, want context.Canceled", err)
			}
			if chunks < tc.chunk {
				t.Fatalf("only %d chunks of disk 0 were read; the cancel never happened mid-copy", chunks)
			}
			if after > 0 {
				t.Errorf("%d chunks of disk 0 were read after the cancel", after)
			}
			assertNoLeftovers(t, outDir)
		})
	}
}

// Progress is reported per disk and pass, in steps that cost Packer no
// per-byte work: no byte goes through the tracker's reader, every bar is
// closed, and each disk's last step shows exactly its size.
func TestProgressPerDiskExactToTheByte(t *testing.T) {
	fx := newExport(t, diskSizes...)
	check := func(tr *recTracker, srcs ...string) {
		t.Helper()
		for _, b := range tr.bars {
			if b.readBytes != 0 || !b.closed {
				t.Errorf("bar %s at %d: %d bytes read through the tracker (want 0), closed %v", b.src, b.cur, b.readBytes, b.closed)
			}
		}
		for _, src := range srcs {
			name := strings.TrimPrefix(src, "hashing ")
			want := int64(len(fx.data[name]))
			if b := tr.last(src); b == nil || b.cur != want || b.total != want {
				t.Errorf("last step of %s: %+v, want %d of %d", src, b, want, want)
			}
		}
	}
	tr := &recTracker{}
	pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Progress: tr})
	want := fmt.Sprintf("[vm-disk-0.vmdk:%d vm-disk-1.vmdk:%d]", diskSizes[0], diskSizes[1])
	if fmt.Sprint(tr.srcs) != want {
		t.Errorf("progress of %v, want %s (one read per disk with the .mf)", tr.srcs, want)
	}
	check(tr, "vm-disk-0.vmdk", "vm-disk-1.vmdk")

	os.Remove(fx.mf)
	tr = &recTracker{}
	pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Progress: tr})
	if len(tr.srcs) != 4 {
		t.Errorf("progress without .mf of %v, want 4 (hash pass + copy pass)", tr.srcs)
	}
	check(tr, "hashing vm-disk-0.vmdk", "hashing vm-disk-1.vmdk", "vm-disk-0.vmdk", "vm-disk-1.vmdk")
}

// A long copy shows steps while it runs, not only at the end.
func TestProgressWhileCopying(t *testing.T) {
	defer progress.SetInterval(5 * time.Millisecond)()
	size := 3*bufSize + 100 // a step after the first chunk, the end after the last
	fx := newExport(t, size)
	tr := &recTracker{}
	midway := make(chan struct{})
	var once sync.Once
	tr.onCur = func(cur, total int64) {
		if cur > 0 && cur < total {
			once.Do(func() { close(midway) })
		}
	}
	// Hold the copy after its first chunk until a step has shown it.
	testHookChunk = func(string) {
		select {
		case <-midway:
		case <-time.After(5 * time.Second):
		}
	}
	defer func() { testHookChunk = nil }()
	pack(t, Options{OVFPath: fx.ovf, Output: filepath.Join(t.TempDir(), "vm.ova"), Progress: tr})
	select {
	case <-midway:
	default:
		t.Fatal("no step was shown while the copy was held")
	}
	if b := tr.last("vm-disk-0.vmdk"); b == nil || b.cur != int64(size) || len(tr.bars) < 2 {
		t.Errorf("%d steps, last %+v; want a step during the copy and one at exactly %d", len(tr.bars), b, size)
	}
}
