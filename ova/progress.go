package ova

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is reported off the data path. Packer's RPC tracker makes one
// synchronous round trip per Read (and Packer allocates a zeroed buffer of
// the read's size for each), so wrapping the disk reader would stall the copy
// on every chunk. Instead the copy only adds to an atomic counter, and a
// meter goroutine feeds the counter's growth to TrackProgress's reader a few
// times a second, in reads of at most meterRead bytes.
const (
	meterEvery = 200 * time.Millisecond
	meterRead  = 16 << 20
)

// meterBuf backs every meter's reads. The count reader never writes to it
// and Packer's tracker only looks at the length, so one lazily allocated
// buffer serves all meters.
var meterBuf = sync.OnceValue(func() []byte { return make([]byte, meterRead) })

// meter is one progress bar: bytes done of a known total. A nil *meter (no
// tracker) ignores every call.
type meter struct {
	done     atomic.Int64
	reported int64
	count    countReader
	rc       io.ReadCloser
	quit     chan struct{}
	stopped  sync.WaitGroup
	once     sync.Once
}

// startMeter opens a progress bar labelled src for total bytes.
func startMeter(t ProgressTracker, src string, total int64) *meter {
	if t == nil {
		return nil
	}
	m := &meter{quit: make(chan struct{})}
	m.rc = t.TrackProgress(src, 0, total, &m.count)
	m.stopped.Add(1)
	go func() {
		defer m.stopped.Done()
		tick := time.NewTicker(meterEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				m.report()
			case <-m.quit:
				return
			}
		}
	}()
	return m
}

// add counts n more bytes done; called on the data path, so it only adds.
func (m *meter) add(n int64) {
	if m != nil {
		m.done.Add(n)
	}
}

// stop reports the bytes not yet reported, so the bar ends on the exact
// count, and closes the bar. Calls after the first do nothing.
func (m *meter) stop() {
	if m == nil {
		return
	}
	m.once.Do(func() {
		close(m.quit)
		m.stopped.Wait()
		m.report()
		m.rc.Close()
	})
}

// report hands the bytes done since the last report to the tracker.
func (m *meter) report() {
	buf := meterBuf()
	for delta := m.done.Load() - m.reported; delta > 0; {
		n := min(delta, int64(len(buf)))
		m.count.pending = n
		got, _ := m.rc.Read(buf[:n])
		if got <= 0 {
			return
		}
		m.reported += int64(got)
		delta -= int64(got)
	}
}

// countReader is the stream TrackProgress wraps: each Read "returns" the
// bytes the meter wants reported, without touching p.
type countReader struct{ pending int64 }

func (c *countReader) Read(p []byte) (int, error) {
	n := min(int64(len(p)), c.pending)
	c.pending -= n
	return int(n), nil
}

func (c *countReader) Close() error { return nil }
