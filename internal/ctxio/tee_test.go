package ctxio

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// Every writer gets every byte, in order, whatever the read sizes.
func TestTeeCopiesEverything(t *testing.T) {
	for _, size := range []int{0, 1, teeBufSize - 1, teeBufSize, 3*teeBufSize + 17, 20 * teeBufSize} {
		data := make([]byte, size)
		rng := rand.New(rand.NewPCG(1, uint64(size)))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		var out bytes.Buffer
		h := sha256.New()
		n, err := Tee(context.Background(), iotest.HalfReader(bytes.NewReader(data)), &out, h)
		if err != nil || n != int64(size) {
			t.Fatalf("size %d: Tee = %d, %v", size, n, err)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("size %d: file copy differs", size)
		}
		if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("size %d: hash differs", size)
		}
	}
}

type failWriter struct{ after int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errDisk
	}
	return len(p), nil
}

// A writer's error, a reader's error and a cancel each stop the copy and
// come back to the caller.
func TestTeeStops(t *testing.T) {
	big := io.LimitReader(zeros{}, 64*teeBufSize)
	if _, err := Tee(context.Background(), big, io.Discard, &failWriter{after: 3 * teeBufSize}); !errors.Is(err, errDisk) {
		t.Errorf("writer error: got %v, want %v", err, errDisk)
	}
	errRead := errors.New("connection reset")
	if _, err := Tee(context.Background(), io.MultiReader(io.LimitReader(zeros{}, teeBufSize+5), iotest.ErrReader(errRead)), io.Discard); !errors.Is(err, errRead) {
		t.Errorf("reader error: got %v, want %v", err, errRead)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := Tee(ctx, io.LimitReader(zeros{}, 1<<40), io.Discard, cancelAfter{cancel: cancel})
	if !errors.Is(err, context.Canceled) || n >= 1<<40 {
		t.Errorf("cancel: got %d, %v; want context.Canceled early", n, err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type cancelAfter struct{ cancel func() }

func (c cancelAfter) Write(p []byte) (int, error) { c.cancel(); return len(p), nil }
