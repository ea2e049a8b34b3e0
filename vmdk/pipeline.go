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

// The grain pipeline: one goroutine walks the input's data ranges and hands
// out batches of grain numbers in disk order; Workers goroutines read their
// batch, drop all-zero grains and compress the rest; Write's goroutine
// writes the batches in the order they were handed out. Batches of 16
// grains (1 MiB) keep goroutine hand-offs rare, which matters on a loaded
// machine where every wake-up waits for a time slice. At most inFlight
// batches exist at once, so memory is bounded (about 2 MiB per batch)
// whatever the disk size.

const batchGrains = 16

type batch struct {
	idx    []uint64     // grains to read, ascending
	out    []byte       // their framed grains, back to back
	grains []batchGrain // the grains stored in out (all-zero ones are not)
	orderedJob
}

type batchGrain struct {
	idx       uint64
	end       int   // end of this grain's frame in out
	populated int64 // disk bytes it covers
}

var zeroGrain = make([]byte, GrainSize)

var batchPool = sync.Pool{New: func() any {
	return &batch{idx: make([]uint64, 0, batchGrains), out: make([]byte, 0, batchGrains*(GrainSize+SectorSize))}
}}

func newBatch() *batch {
	b := batchPool.Get().(*batch)
	b.idx, b.out, b.grains, b.err = b.idx[:0], b.out[:0], b.grains[:0], nil
	return b
}

func (w *streamWriter) writeGrains(ctx context.Context, src io.ReaderAt, size int64, o *Options) (Stats, error) {
	capBytes := int64(w.capacity) * SectorSize
	var st Stats
	err := runOrdered(ctx, o.Workers, 2*o.Workers+1, o.Workers,
		func(ctx context.Context, order, work chan<- *batch) error {
			return w.walk(ctx, src, size, order, work)
		},
		func() func(context.Context, *batch) error {
			c := newGrainCompressor(o.Level)
			return func(ctx context.Context, b *batch) error { return c.batch(ctx, b, src, size, capBytes) }
		},
		func(ctx context.Context, order <-chan *batch) (err error) {
			st, err = w.collect(ctx, order, o)
			return err
		})
	return st, err
}

// collect writes finished batches in order.
func (w *streamWriter) collect(ctx context.Context, order <-chan *batch, o *Options) (Stats, error) {
	var st Stats
	capBytes := int64(w.capacity) * SectorSize
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		if b.err != nil {
			return st, b.err
		}
		start := 0
		for _, g := range b.grains {
			if err := w.grain(g.idx, b.out[start:g.end]); err != nil {
				return st, err
			}
			start = g.end
			st.AllocatedGrains++
			st.PopulatedSize += g.populated
		}
		if o.Progress != nil && len(b.idx) > 0 {
			o.Progress(min(int64(b.idx[len(b.idx)-1]+1)*GrainSize, capBytes), capBytes)
		}
		batchPool.Put(b)
	}
	if o.Progress != nil {
		o.Progress(capBytes, capBytes)
	}
	return st, nil
}

// walk hands out the grains that hold data (by the input's data ranges) in
// batches, first on order (fixing their place in the output), then on work.
func (w *streamWriter) walk(ctx context.Context, src io.ReaderAt, size int64, order, work chan<- *batch) error {
	capBytes := int64(w.capacity) * SectorSize
	next := dataRanges(src, size)
	b := newBatch()
	send := func() error {
		b.done = make(chan struct{})
		select {
		case order <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case work <- b:
		case <-ctx.Done():
			// Already on order: mark it done so the drain does not wait.
			b.err = ctx.Err()
			close(b.done)
			return ctx.Err()
		}
		b = newBatch()
		return nil
	}
	next2 := int64(0) // first grain not yet handed out
	for pos := int64(0); pos < capBytes; {
		start, end, err := next(pos)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("vmdk: finding data in the input after byte %d: %w", pos, err)
		}
		if start >= capBytes {
			break
		}
		for g := max(start/GrainSize, next2); g*GrainSize < min(end, capBytes); g++ {
			b.idx = append(b.idx, uint64(g))
			next2 = g + 1
			if len(b.idx) == batchGrains {
				if err := send(); err != nil {
					return err
				}
			}
		}
		pos = max(end, next2*GrainSize)
	}
	if len(b.idx) > 0 {
		return send()
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
	probe  *zlib.Writer // level 1: finds incompressible grains fast
	main   *zlib.Writer // the configured level (nil when it is 1)
	in     []byte       // a run of consecutive grains read at once
	s1, s2 appendWriter // the two encoders' outputs
}

func newGrainCompressor(level int) *grainCompressor {
	c := &grainCompressor{in: make([]byte, batchGrains*GrainSize)}
	c.probe, _ = zlib.NewWriterLevel(&c.s1, 1)
	if level != 1 {
		c.main, _ = zlib.NewWriterLevel(&c.s2, level)
	}
	return c
}

// batch reads b's grains (each run of consecutive grains with one read),
// skips the all-zero ones and frames the others into b.out.
func (c *grainCompressor) batch(ctx context.Context, b *batch, src io.ReaderAt, size, capBytes int64) error {
	for i := 0; i < len(b.idx); {
		j := i + 1
		for j < len(b.idx) && b.idx[j] == b.idx[j-1]+1 {
			j++
		}
		off := int64(b.idx[i]) * GrainSize
		run := c.in[:min(int64(j-i)*GrainSize, capBytes-off)]
		if err := readFull(src, run, off, size); err != nil {
			return err
		}
		for k := i; k < j; k++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			g := run[int64(k-i)*GrainSize:]
			g = g[:min(GrainSize, int64(len(g)))]
			if bytes.Equal(g, zeroGrain[:len(g)]) {
				continue
			}
			var err error
			if b.out, err = c.frame(b.out, b.idx[k], g); err != nil {
				return fmt.Errorf("vmdk: compressing grain %d: %w", b.idx[k], err)
			}
			b.grains = append(b.grains, batchGrain{idx: b.idx[k], end: len(b.out), populated: int64(len(g))})
		}
		i = j
	}
	return nil
}

// appendWriter appends to a byte slice it owns.
type appendWriter struct{ b []byte }

func (a *appendWriter) Write(p []byte) (int, error) { a.b = append(a.b, p...); return len(p), nil }

// frame appends grain idx to dst: a grain marker (LBA, compressed size), the
// zlib stream and zeros up to a sector boundary.
func (c *grainCompressor) frame(dst []byte, idx uint64, in []byte) ([]byte, error) {
	enc, err := c.encode(in)
	if err != nil {
		return dst, err
	}
	dst = binary.LittleEndian.AppendUint64(dst, idx*grainSectors)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(enc)))
	dst = append(dst, enc...)
	if pad := (grainMarkerSize + len(enc)) % SectorSize; pad != 0 {
		dst = append(dst, zeroGrain[:SectorSize-pad]...)
	}
	return dst, nil
}

// probeBytes is how much of a grain the level-1 probe sees first.
const probeBytes = 8 << 10

// encode compresses one grain. A fast level-1 probe runs first on the
// grain's first 8 KiB: if that does not shrink, the whole grain goes through
// level 1 (fast on random or already-compressed data, where no level would
// save a sector) and is kept unless it shrank after all; otherwise the grain
// is compressed at the configured level. Of two encodings the smaller wins.
func (c *grainCompressor) encode(in []byte) ([]byte, error) {
	if c.main == nil {
		return deflate(c.probe, in, &c.s1)
	}
	if len(in) > 2*probeBytes {
		p, err := deflate(c.probe, in[:probeBytes], &c.s1)
		if err != nil {
			return nil, err
		}
		if len(p) >= probeBytes*15/16 {
			l1, err := deflate(c.probe, in, &c.s1)
			if err != nil || len(l1) >= len(in)*15/16 {
				return l1, err
			}
			m, err := deflate(c.main, in, &c.s2)
			if err != nil || len(m) <= len(l1) {
				return m, err
			}
			return l1, nil
		}
	}
	return deflate(c.main, in, &c.s2)
}

func deflate(z *zlib.Writer, in []byte, out *appendWriter) ([]byte, error) {
	out.b = out.b[:0]
	z.Reset(out)
	if _, err := z.Write(in); err != nil {
		return nil, err
	}
	err := z.Close()
	return out.b, err
}
