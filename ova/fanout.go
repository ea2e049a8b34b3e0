package ova

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
)

// testHookChunk, when set by a test, runs after each pooled chunk of the
// named file is handed to the sinks (a deterministic point mid-copy).
var testHookChunk func(name string)

// bufSize and the pool depth bound memory (nbuf * bufSize per Pack, shared
// by its fanouts) while giving the slower consumer enough slack that neither
// core idles. 1 MiB chunks took a little less CPU than 4 MiB or 256 KiB
// ones (1 GiB export: 2.6 vs 2.8 and 2.9 CPU s) and keep the plugin process
// well under its 128 MiB budget.
const (
	bufSize = 1 << 20
	nbuf    = 16
)

// bufPool holds one Pack's copy buffers. Fanouts running at once (disks
// hashed in parallel) share it, so parallel work does not multiply memory.
type bufPool struct{ free chan []byte }

func newBufPool() *bufPool {
	p := &bufPool{free: make(chan []byte, nbuf)}
	for range nbuf {
		p.free <- nil // allocated on first use, so small packs stay cheap
	}
	return p
}

// chunk is one slice of the byte stream, shared read-only by every sink; the
// buffer goes back to the pool when the last sink releases it.
type chunk struct {
	data  []byte
	buf   []byte // pooled buffer behind data; nil for small one-off chunks
	refs  atomic.Int32
	outs  uint64          // bit k set: part of output k's archive
	check *diskCheck      // disk bytes to verify against the export's manifest
	meter *progress.Meter // counts the bytes once every sink is done with them
	end   bool            // no data: the end of a disk (verify it, close its meter)
}

// route is what a chunk is for: which outputs, which check, which meter.
type route struct {
	outs  uint64
	check *diskCheck
	meter *progress.Meter
}

// fanout feeds one ordered byte stream to several sinks, each running in its
// own goroutine, so writing and hashing proceed in parallel on all cores
// while every byte is read only once.
type fanout struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	free   chan []byte
	chans  []chan *chunk
	wg     sync.WaitGroup
}

func newFanout(ctx context.Context, pool *bufPool, sinks ...func(*chunk) error) *fanout {
	f := &fanout{free: pool.free}
	f.ctx, f.cancel = context.WithCancelCause(ctx)
	for _, s := range sinks {
		// Capacity above the number of chunks in flight: sends never block,
		// so a failed sink cannot deadlock the producer.
		ch := make(chan *chunk, nbuf+64)
		f.chans = append(f.chans, ch)
		f.wg.Add(1)
		go func(s func(*chunk) error) {
			defer f.wg.Done()
			for c := range ch {
				if f.ctx.Err() == nil {
					if err := s(c); err != nil {
						f.cancel(err)
					}
				}
				f.release(c)
			}
		}(s)
	}
	return f
}

func (f *fanout) release(c *chunk) {
	if c.refs.Add(-1) != 0 {
		return
	}
	if c.end {
		c.meter.Stop() // every sink has seen every byte before this marker
	} else {
		c.meter.Add(int64(len(c.data)))
	}
	if c.buf != nil {
		f.free <- c.buf
	}
}

func (f *fanout) send(c *chunk) {
	c.refs.Store(int32(len(f.chans)))
	for _, ch := range f.chans {
		ch <- c
	}
}

// small sends bytes that are not from the pool (headers, padding, the
// descriptor and manifest).
func (f *fanout) small(data []byte, to route) error {
	if err := f.err(); err != nil {
		return err
	}
	if len(data) > 0 {
		f.send(&chunk{data: data, outs: to.outs, check: to.check})
	}
	return nil
}

// copyN streams exactly n bytes of r to the sinks in pooled buffers.
func (f *fanout) copyN(r io.Reader, n int64, name string, to route) error {
	for n > 0 {
		if err := f.err(); err != nil {
			return err // select below picks at random when both are ready
		}
		var buf []byte
		select {
		case buf = <-f.free:
		case <-f.ctx.Done():
			return f.err()
		}
		if buf == nil {
			buf = make([]byte, bufSize)
		}
		want := int64(len(buf))
		if n < want {
			want = n
		}
		got, err := io.ReadFull(r, buf[:want])
		if err != nil {
			f.free <- buf
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%s ended %d bytes early; was it changed while packing?", name, n-int64(got))
			}
			return fmt.Errorf("reading %s: %w", name, err)
		}
		n -= want
		f.send(&chunk{data: buf[:want], buf: buf, outs: to.outs, check: to.check, meter: to.meter})
		if testHookChunk != nil {
			testHookChunk(name)
		}
	}
	return f.err()
}

// err reports why the fanout stopped: a sink's error or the caller's context.
func (f *fanout) err() error {
	if f.ctx.Err() == nil {
		return nil
	}
	return context.Cause(f.ctx)
}

// close waits for every sink to finish and returns the first failure.
func (f *fanout) close() error {
	for _, ch := range f.chans {
		close(ch)
	}
	f.wg.Wait()
	err := f.err()
	f.cancel(nil)
	return err
}
