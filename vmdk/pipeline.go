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
	// probeBuf holds the probe's output, or a whole level-1 encoding kept
	// for comparison; it swaps with job buffers, never shared between jobs.
	probeBuf []byte
}

func newGrainCompressor(level int) *grainCompressor {
	c := &grainCompressor{level: level, probeBuf: make([]byte, 0, GrainSize+4*SectorSize)}
	c.probe, _ = zlib.NewWriterLevel(&c.buf, 1)
	if level != 1 {
		c.main, _ = zlib.NewWriterLevel(&c.buf, level)
	}
	return c
}

// appendWriter appends to a byte slice it owns.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

// probeBytes is how much of a grain the level-1 probe sees first.
const probeBytes = 8 << 10

// compress frames j.in as a grain marker and a zlib stream, padded to a
// whole sector. A fast level-1 probe runs first on the grain's first 8 KiB:
// if that does not shrink, the whole grain goes through level 1 (fast on
// random or already-compressed data, where no level would save a sector)
// and is kept unless it shrank after all; otherwise the grain is compressed
// at the configured level. Of two encodings the smaller is kept.
func (c *grainCompressor) compress(j *grainJob) error {
	run := func(z *zlib.Writer, in []byte, dst []byte) ([]byte, error) {
		c.buf.b = append(dst[:0], zeroGrain[:grainMarkerSize]...)
		z.Reset(&c.buf)
		if _, err := z.Write(in); err != nil {
			return nil, err
		}
		err := z.Close()
		return c.buf.b, err
	}
	out := j.out
	var err error
	fail := func(err error) error { return fmt.Errorf("vmdk: compressing grain %d: %w", j.idx, err) }
	compressible := c.main != nil
	if compressible && len(j.in) > 2*probeBytes {
		if c.probeBuf, err = run(c.probe, j.in[:probeBytes], c.probeBuf); err != nil {
			return fail(err)
		}
		compressible = len(c.probeBuf)-grainMarkerSize < probeBytes*15/16
	}
	haveL1 := false // c.probeBuf holds the whole grain at level 1
	if !compressible {
		if out, err = run(c.probe, j.in, out); err != nil {
			return fail(err)
		}
		// Level 1 shrank it after all: try the configured level too.
		if c.main != nil && len(out)-grainMarkerSize < len(j.in)*15/16 {
			c.probeBuf, out = out, c.probeBuf
			compressible, haveL1 = true, true
		}
	}
	if compressible {
		if out, err = run(c.main, j.in, out); err != nil {
			return fail(err)
		}
		if haveL1 && len(c.probeBuf) < len(out) {
			c.probeBuf, out = out, c.probeBuf
		}
	}
	binary.LittleEndian.PutUint64(out[0:], j.idx*grainSectors)
	binary.LittleEndian.PutUint32(out[8:], uint32(len(out)-grainMarkerSize))
	if pad := len(out) % SectorSize; pad != 0 {
		out = append(out, zeroGrain[:SectorSize-pad]...)
	}
	j.out = out
	return nil
}
