package ctxio

import (
	"context"
	"errors"
	"io"
	"sync"
)

// teeBuffers and teeBufSize bound Tee's memory (8 MiB) while giving each
// stage room to run ahead of the slowest by a few buffers.
const (
	teeBuffers = 8
	teeBufSize = 1 << 20
)

// Tee copies src to every writer in ws, each writer on its own goroutine,
// so reading (a TLS stream, a decompressor), writing a file and hashing run
// on different cores instead of one after the other as io.MultiWriter makes
// them (issue 8: the builder's export streamed, wrote and hashed in turn).
// Every writer sees every byte in order. It stops at the first error of src
// or any writer, or when ctx is done, and returns the bytes read from src.
func Tee(ctx context.Context, src io.Reader, ws ...io.Writer) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	type buf struct {
		b    []byte
		n    int
		refs sync.WaitGroup
	}
	free := make(chan *buf, teeBuffers)
	for range teeBuffers {
		free <- &buf{b: make([]byte, teeBufSize)}
	}
	lanes := make([]chan *buf, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		lanes[i] = make(chan *buf, teeBuffers)
		wg.Add(1)
		go func(w io.Writer, in <-chan *buf) {
			defer wg.Done()
			for b := range in {
				if ctx.Err() == nil {
					if _, err := w.Write(b.b[:b.n]); err != nil {
						cancel(err)
					}
				}
				b.refs.Done()
			}
		}(w, lanes[i])
	}

	r := Reader(ctx, src)
	var total int64
	var readErr error
	for readErr == nil {
		var b *buf
		select {
		case b = <-free:
		case <-ctx.Done():
		}
		if b == nil {
			break
		}
		b.n, readErr = io.ReadFull(r, b.b)
		if errors.Is(readErr, io.ErrUnexpectedEOF) {
			readErr = io.EOF
		}
		if b.n > 0 {
			total += int64(b.n)
			b.refs.Add(len(ws))
			for _, l := range lanes {
				l <- b
			}
		}
		go func() { b.refs.Wait(); free <- b }()
	}
	for _, l := range lanes {
		close(l)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return total, err
	}
	if readErr != io.EOF {
		return total, readErr
	}
	return total, nil
}
