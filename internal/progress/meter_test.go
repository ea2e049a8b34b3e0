package progress

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

type step struct {
	cur, total int64
	read       int
	closed     bool
}

// recorder records every bar opened and whether anything read its stream.
type recorder struct {
	mu    sync.Mutex
	steps []*step
}

func (r *recorder) TrackProgress(_ string, cur, total int64, stream io.ReadCloser) io.ReadCloser {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &step{cur: cur, total: total}
	r.steps = append(r.steps, s)
	return &bar{s: s, r: stream, mu: &r.mu}
}

type bar struct {
	s  *step
	r  io.ReadCloser
	mu *sync.Mutex
}

func (b *bar) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.mu.Lock()
	b.s.read += n
	b.mu.Unlock()
	return n, err
}

func (b *bar) Close() error {
	b.mu.Lock()
	b.s.closed = true
	b.mu.Unlock()
	return nil
}

// The bytes go around the tracker, never through it; the last step shows
// exactly what was copied, and every bar is closed.
func TestMeterCountsOnTheSide(t *testing.T) {
	defer SetInterval(time.Millisecond)()
	rec := &recorder{}
	data := strings.Repeat("x", 1<<20)
	m := Start(rec, "disk", int64(len(data)))
	var out bytes.Buffer
	r := m.Reader(strings.NewReader(data))
	for {
		// Slow, small reads so steps show during the copy.
		if _, err := io.CopyN(m.Writer(io.Discard), io.TeeReader(io.LimitReader(r, 64<<10), &out), 64<<10); err != nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	m.Stop()
	m.Stop() // a second Stop does nothing
	if out.Len() != len(data) {
		t.Fatalf("copied %d bytes, want %d", out.Len(), len(data))
	}
	// Reader and Writer both count: twice the data.
	if got := m.Done(); got != 2*int64(len(data)) {
		t.Errorf("Done() = %d, want %d", got, 2*len(data))
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.steps) < 2 {
		t.Fatalf("%d steps shown, want some during the copy and one at the end", len(rec.steps))
	}
	for i, s := range rec.steps {
		if s.read != 0 || !s.closed {
			t.Errorf("step %d: %d bytes read through the tracker (want 0), closed %v", i, s.read, s.closed)
		}
		if i > 0 && s.cur < rec.steps[i-1].cur {
			t.Errorf("step %d goes back: %d after %d", i, s.cur, rec.steps[i-1].cur)
		}
	}
	if last := rec.steps[len(rec.steps)-1]; last.cur != 2*int64(len(data)) || last.total != last.cur {
		t.Errorf("last step %d of %d, want exactly %d of %d", last.cur, last.total, 2*len(data), 2*len(data))
	}
}

// Without a tracker everything is a no-op and the data path is untouched.
func TestNilMeter(t *testing.T) {
	m := Start(nil, "x", 10)
	if m != nil {
		t.Fatal("Start(nil) returned a meter")
	}
	r := strings.NewReader("abc")
	if m.Reader(r) != io.Reader(r) {
		t.Error("nil meter wrapped the reader")
	}
	m.Add(3)
	m.Stop()
	if m.Done() != 0 {
		t.Error("nil meter counted")
	}
}

// An unknown total shows a full bar at the count, never total < current.
func TestUnknownTotal(t *testing.T) {
	rec := &recorder{}
	m := Start(rec, "stream", 0)
	m.Add(42)
	m.Stop()
	if s := rec.steps[len(rec.steps)-1]; s.cur != 42 || s.total != 42 {
		t.Errorf("last step %d of %d, want 42 of 42", s.cur, s.total)
	}
}

// Track is TrackProgress without Packer on the data path.
func TestTrack(t *testing.T) {
	rec := &recorder{}
	rc := Track(rec, "f", 5, io.NopCloser(strings.NewReader("hello")))
	if b, _ := io.ReadAll(rc); string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
	rc.Close()
	if s := rec.steps[len(rec.steps)-1]; s.cur != 5 || s.read != 0 || !s.closed {
		t.Errorf("last step %+v, want 5 bytes shown, none read through the tracker, closed", *s)
	}
	if got := Track(nil, "f", 1, io.NopCloser(nil)); got == nil {
		t.Error("Track without a tracker returned nil")
	}
}
