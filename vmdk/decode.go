package vmdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
)

// The decode pipeline, the mirror of Write's: every grain is its own zlib
// stream, so grains inflate independently. One goroutine reads the stream
// (once, in order: it cannot seek) and checks its markers, handing out
// batches of up to batchGrains compressed grains; Workers goroutines inflate
// them and find their non-zero blocks; DecodeTo's goroutine writes the
// batches in stream order. A fixed set of batches circulates (2*Workers+1,
// each about 3 MiB for 64 KiB grains), so memory is bounded whatever the
// disk size, and a slow destination stalls the reader instead of piling up
// inflated grains.

// DecodeOptions tune DecodeTo.
type DecodeOptions struct {
	// Workers inflate grains at once; 0 means GOMAXPROCS, at most
	// maxDecodeWorkers.
	Workers int
}

// maxDecodeWorkers bounds the default: past a few inflaters the single
// reader (and the source's hash) is the limit, and each worker adds about
// 6 MiB of batches.
const maxDecodeWorkers = 8

// DecodeStats describe what DecodeTo did.
type DecodeStats struct {
	Grains  int64 // grains read from the stream
	Written int64 // bytes written: the grains' non-zero blocks
}

// decodeBlock is the unit checked for zeros and left unwritten (a hole in a
// sparse file): a filesystem block.
const decodeBlock = 4096

type decodeBatch struct {
	in     []byte        // one maxGrainFrame slot per grain, for its frame
	grains []streamGrain // the grains read into in
	out    []byte        // one grain per slot: the inflated grains
	runs   []dataRun     // the non-zero parts of out, in disk order
	orderedJob
}

type streamGrain struct {
	lba, at int64  // first sector; stream offset of its marker
	data    []byte // compressed, within in
}

// testHookInflate, set only by tests, runs before a batch (by its first
// LBA) is inflated: delaying some makes batches finish out of order.
var testHookInflate func(firstLBA int64)

// dataRun is out[start:end], to be written at disk offset off.
type dataRun struct {
	off        int64
	start, end int
}

// DecodeTo decodes the rest of the disk into w, each byte at its disk
// offset, writing only the 4 KiB blocks that hold non-zero data: a file
// stays sparse, and the caller sizes it (Truncate to Size). It must be
// called before any Read, and reads the stream as Read does, with the same
// checks and errors (the first problem in stream order wins), to the
// stream's end.
//
// Grains inflate on Workers goroutines while the next ones are read and the
// previous ones written, each WriteAt from this goroutine in disk order.
// On cancellation DecodeTo returns ctx's error once the reader's current
// Read returns; bytes already written stay in w.
func (s *StreamReader) DecodeTo(ctx context.Context, w io.WriterAt, o DecodeOptions) (DecodeStats, error) {
	if s.err != nil {
		return DecodeStats{}, s.err
	}
	if s.pos != 0 || s.next >= 0 || s.lastLBA >= 0 || s.eos {
		return DecodeStats{}, errors.New("vmdk: DecodeTo on a stream already read from")
	}
	workers := o.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), maxDecodeWorkers)
	}
	st, err := s.decode(ctx, w, workers)
	if err != nil {
		s.err = err
		return st, err
	}
	s.pos = s.size // Read: nothing left
	return st, nil
}

func (s *StreamReader) decode(ctx context.Context, w io.WriterAt, workers int) (DecodeStats, error) {
	inFlight := 2*workers + 1
	grainBytes := int(s.hdr.GrainSize) * SectorSize
	free := make(chan *decodeBatch, inFlight)
	for range inFlight {
		free <- &decodeBatch{
			in:  make([]byte, batchGrains*s.maxGrainFrame()),
			out: make([]byte, batchGrains*grainBytes),
		}
	}
	var st DecodeStats
	err := runOrdered(ctx, workers, inFlight, inFlight,
		func(ctx context.Context, order, work chan<- *decodeBatch) error {
			return s.readBatches(ctx, free, order, work)
		},
		func() func(context.Context, *decodeBatch) error {
			var f inflater
			return func(ctx context.Context, b *decodeBatch) error {
				if testHookInflate != nil {
					testHookInflate(b.grains[0].lba)
				}
				return s.inflateBatch(ctx, &f, b, grainBytes)
			}
		},
		func(ctx context.Context, order <-chan *decodeBatch) (err error) {
			st, err = writeBatches(ctx, w, order, free)
			return err
		})
	return st, err
}

// readBatches reads grains into batches, each first on order (its place in
// the output) then on work, until the end of the disk or an error; the
// grains read before an error are sent first, so that an earlier grain's
// problem is reported before it.
func (s *StreamReader) readBatches(ctx context.Context, free <-chan *decodeBatch, order, work chan<- *decodeBatch) error {
	frame := s.maxGrainFrame()
	grainBytes := int64(s.hdr.GrainSize) * SectorSize
	for {
		var b *decodeBatch
		select {
		case b = <-free:
		case <-ctx.Done():
			return ctx.Err()
		}
		b.grains, b.runs, b.err = b.grains[:0], b.runs[:0], nil
		b.done = make(chan struct{})
		var err error
		last := false
		for len(b.grains) < batchGrains && !last {
			if err = ctx.Err(); err != nil {
				break
			}
			i := len(b.grains)
			var g streamGrain
			g.lba, g.at, g.data, err = s.readGrain(b.in[i*frame : (i+1)*frame])
			if err != nil || g.lba < 0 {
				break // an error, or the end-of-stream marker
			}
			b.grains = append(b.grains, g)
			// Read stops at the grain holding the disk's last byte too.
			last = g.lba*SectorSize+grainBytes >= s.size
		}
		if len(b.grains) > 0 {
			if serr := sendBatch(ctx, b, order, work); serr != nil {
				return serr
			}
		}
		if err != nil {
			return err
		}
		if len(b.grains) < batchGrains || last {
			return s.finish()
		}
	}
}

func sendBatch(ctx context.Context, b *decodeBatch, order, work chan<- *decodeBatch) error {
	select {
	case order <- b:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case work <- b:
		return nil
	case <-ctx.Done():
		// Already on order: mark it done so the drain does not wait.
		b.err = ctx.Err()
		close(b.done)
		return ctx.Err()
	}
}

// inflateBatch inflates b's grains into out, one grain per slot, and lists
// their non-zero blocks in b.runs, merging neighbours into one write.
func (s *StreamReader) inflateBatch(ctx context.Context, f *inflater, b *decodeBatch, grainBytes int) error {
	for i, g := range b.grains {
		if err := ctx.Err(); err != nil {
			return err
		}
		base := i * grainBytes
		d, err := s.inflateGrain(f, b.out[base:base+grainBytes], g.lba, g.at, g.data)
		if err != nil {
			return err
		}
		off := g.lba * SectorSize
		for p := 0; p < len(d); p += decodeBlock {
			e := min(p+decodeBlock, len(d))
			if bytes.Equal(d[p:e], zeroGrain[:e-p]) {
				continue
			}
			if n := len(b.runs); n > 0 && b.runs[n-1].end == base+p && b.runs[n-1].off+int64(b.runs[n-1].end-b.runs[n-1].start) == off+int64(p) {
				b.runs[n-1].end = base + e
				continue
			}
			b.runs = append(b.runs, dataRun{off: off + int64(p), start: base + p, end: base + e})
		}
	}
	return nil
}

// writeBatches writes the batches' non-zero runs in order and returns each
// batch to free.
func writeBatches(ctx context.Context, w io.WriterAt, order <-chan *decodeBatch, free chan<- *decodeBatch) (DecodeStats, error) {
	var st DecodeStats
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
			return st, ctx.Err()
		}
		if b.err != nil {
			return st, b.err
		}
		for _, r := range b.runs {
			if _, err := w.WriteAt(b.out[r.start:r.end], r.off); err != nil {
				return st, fmt.Errorf("vmdk: writing the disk at byte %d: %w", r.off, err)
			}
			st.Written += int64(r.end - r.start)
		}
		st.Grains += int64(len(b.grains))
		free <- b // never blocks: free holds every batch
	}
	return st, nil
}
