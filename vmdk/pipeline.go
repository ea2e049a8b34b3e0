package vmdk

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"
)

// The grain pipeline: one goroutine reads grains in disk order and drops the
// all-zero ones, Workers goroutines compress, and Write's goroutine writes
// the results in the order they were read. At most inFlight grains exist at
// once, so memory is bounded (about 130 KiB per grain) whatever the disk size.

type grainJob struct {
	idx  uint64 // grain number
	in   []byte // the grain's bytes within the capacity
	out  []byte // marker + zlib stream + padding, sector-aligned
	err  error
	done chan struct{}
}

var zeroGrain = make([]byte, GrainSize)

var jobPool = sync.Pool{New: func() any {
	return &grainJob{in: make([]byte, GrainSize), out: make([]byte, 0, GrainSize+4*SectorSize)}
}}

func (w *streamWriter) writeGrains(ctx context.Context, src io.ReaderAt, size int64, o *Options) (Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inFlight := 2*o.Workers + 2
	order := make(chan *grainJob, inFlight)
	work := make(chan *grainJob)
	var wg sync.WaitGroup
	var readErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		readErr = w.readGrains(ctx, src, size, order, work)
	}()
	for range o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newGrainCompressor(o.Level)
			for j := range work {
				j.err = c.compress(j)
				close(j.done)
			}
		}()
	}
	st, err := w.collect(ctx, order, o)
	cancel()
	// Let the reader and workers finish before their jobs are reused or
	// readErr is read; they all stop promptly once ctx is done.
	for j := range order {
		<-j.done
	}
	wg.Wait()
	if err == nil && readErr != nil {
		err = readErr
	}
	return st, err
}

// collect writes finished grains in order.
func (w *streamWriter) collect(ctx context.Context, order <-chan *grainJob, o *Options) (Stats, error) {
	var st Stats
	capBytes := int64(w.capacity) * SectorSize
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		if j.err != nil {
			return st, j.err
		}
		if err := w.grain(j.idx, j.out); err != nil {
			return st, err
		}
		st.AllocatedGrains++
		st.PopulatedSize += int64(len(j.in))
		if o.Progress != nil {
			o.Progress(min(int64(j.idx+1)*GrainSize, capBytes), capBytes)
		}
		jobPool.Put(j)
	}
	if o.Progress != nil {
		o.Progress(capBytes, capBytes)
	}
	return st, nil
}

// readGrains reads the data ranges of src grain by grain and queues every
// grain that is not all zeros, first on order (fixing its place in the
// output), then on work.
func (w *streamWriter) readGrains(ctx context.Context, src io.ReaderAt, size int64, order, work chan<- *grainJob) error {
	capBytes := int64(w.capacity) * SectorSize
	next := dataRanges(src, size)
	var pos int64 // first byte not yet looked at
	for pos < capBytes {
		start, end, err := next(pos)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("vmdk: finding data in the input after byte %d: %w", pos, err)
		}
		if start >= capBytes {
			return nil
		}
		start = max(start, pos)
		for g := start / GrainSize; g*GrainSize < end && g*GrainSize < capBytes; g++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			off := g * GrainSize
			j := jobPool.Get().(*grainJob)
			j.idx, j.err = uint64(g), nil
			j.in = j.in[:min(GrainSize, capBytes-off)]
			if err := readFull(src, j.in, off, size); err != nil {
				return err
			}
			pos = off + int64(len(j.in))
			if bytes.Equal(j.in, zeroGrain[:len(j.in)]) {
				jobPool.Put(j)
				continue
			}
			j.done = make(chan struct{})
			select {
			case order <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case work <- j:
			case <-ctx.Done():
				// Already on order: mark it done so the drain does not wait.
				j.err = ctx.Err()
				close(j.done)
				return ctx.Err()
			}
		}
		pos = max(pos, end)
	}
	return nil
}

// readFull fills b from src at off; bytes at or past size (the sector padding
// of an odd-sized input) are zeros.
func readFull(src io.ReaderAt, b []byte, off, size int64) error {
	n := len(b)
	if avail := size - off; avail < int64(n) {
		n = int(max(avail, 0))
		clear(b[n:])
	}
	got, err := src.ReadAt(b[:n], off)
	if got == n {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("vmdk: reading the input at byte %d: %w", off+int64(got), err)
}

// grainCompressor belongs to one worker.
type grainCompressor struct {
	level int
	probe *zlib.Writer // level 1: finds incompressible grains fast
	main  *zlib.Writer
	buf   appendWriter
}

func newGrainCompressor(level int) *grainCompressor {
	c := &grainCompressor{level: level}
	c.probe, _ = zlib.NewWriterLevel(&c.buf, 1)
	if level != 1 {
		c.main, _ = zlib.NewWriterLevel(&c.buf, level)
	}
	return c
}

// appendWriter appends to a byte slice it owns.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

// compress frames j.in as a grain marker and a zlib stream, padded to a
// whole sector. Level 1 goes first: if it cannot shrink the grain (random
// or already-compressed data) its output, mostly stored blocks, is kept, as
// no level would save a sector; otherwise the grain is compressed again at
// the configured level.
func (c *grainCompressor) compress(j *grainJob) error {
	run := func(z *zlib.Writer) error {
		c.buf.b = append(j.out[:0], make([]byte, grainMarkerSize)...)
		z.Reset(&c.buf)
		if _, err := z.Write(j.in); err != nil {
			return err
		}
		return z.Close()
	}
	if err := run(c.probe); err != nil {
		return fmt.Errorf("vmdk: compressing grain %d: %w", j.idx, err)
	}
	if c.main != nil && len(c.buf.b)-grainMarkerSize < len(j.in) {
		if err := run(c.main); err != nil {
			return fmt.Errorf("vmdk: compressing grain %d: %w", j.idx, err)
		}
	}
	b := c.buf.b
	binary.LittleEndian.PutUint64(b[0:], j.idx*grainSectors)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)-grainMarkerSize))
	if pad := len(b) % SectorSize; pad != 0 {
		b = append(b, zeroGrain[:SectorSize-pad]...)
	}
	j.out = b
	return nil
}
