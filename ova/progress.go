package ova

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is reported in steps and never through TrackProgress's reader.
// Packer's RPC tracker (packer-plugin-sdk rpc.ProgressTrackingServer.Add)
// allocates a zeroed buffer of every reported Read's size in Packer's own
// process: measured with perf inside `packer build`, that is about a second
// of CPU per GiB reported on a 2-core VM (page faults and memclr), whatever
// the size or rate of the reads, and it competes with the hashing for the
// same cores. So the copy only adds to an atomic counter, and every step
// opens a new bar at the current count (TrackProgress's currentSize: one RPC,
// nothing allocated per byte) and closes the previous one. Packer draws each
// step as a line of its own; the last line shows exactly the bytes done.
var (
	meterEvery = 2 * time.Second // at most one step this often...
	meterStep  = int64(20)       // ...and only after 1/meterStep of the total
)

// meter is the progress of one disk in one pass. A nil *meter (no tracker)
// ignores every call.
type meter struct {
	t       ProgressTracker
	src     string
	total   int64
	done    atomic.Int64
	bar     io.ReadCloser // the step on screen; nil before the first
	shown   int64
	quit    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

// startMeter starts the progress of src, total bytes. The first step shows
// after meterEvery, so a short copy shows one line: its end.
func startMeter(t ProgressTracker, src string, total int64) *meter {
	if t == nil {
		return nil
	}
	m := &meter{t: t, src: src, total: total, quit: make(chan struct{})}
	m.stopped.Add(1)
	go func() {
		defer m.stopped.Done()
		tick := time.NewTicker(meterEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if d := m.done.Load(); d-m.shown >= max(1, m.total/meterStep) {
					m.show(d)
				}
			case <-m.quit:
				return
			}
		}
	}()
	return m
}

// add counts n more bytes done; it is on the data path, so it only adds.
func (m *meter) add(n int64) {
	if m != nil {
		m.done.Add(n)
	}
}

// stop shows the final count (the disk's size when the copy completed) and
// closes the bar. Calls after the first do nothing.
func (m *meter) stop() {
	if m == nil {
		return
	}
	m.once.Do(func() {
		close(m.quit)
		m.stopped.Wait()
		if d := m.done.Load(); m.bar == nil || d != m.shown {
			m.show(d)
		}
		m.bar.Close()
	})
}

// show replaces the bar on screen with one at n bytes.
func (m *meter) show(n int64) {
	if m.bar != nil {
		m.bar.Close()
	}
	m.bar = m.t.TrackProgress(m.src, n, m.total, noBytes{})
	m.shown = n
}

// noBytes is the stream TrackProgress wraps; Pack never reads it.
type noBytes struct{}

func (noBytes) Read([]byte) (int, error) { return 0, io.EOF }
func (noBytes) Close() error             { return nil }

// Meter shows the progress of a long step outside Pack (the post-processor's
// disk conversion) the way Pack shows its copies: Add only bumps a counter,
// and a few bars a minute are drawn from it.
type Meter struct{ m *meter }

// NewMeter starts the progress of src, total bytes. A nil tracker shows
// nothing. Stop it when the step ends, however it ends.
func NewMeter(t ProgressTracker, src string, total int64) *Meter {
	return &Meter{startMeter(t, src, total)}
}

// Add counts n more bytes done. It is safe on a data path.
func (m *Meter) Add(n int64) { m.m.add(n) }

// Stop shows the final count and closes the bar; later calls do nothing.
func (m *Meter) Stop() { m.m.stop() }
