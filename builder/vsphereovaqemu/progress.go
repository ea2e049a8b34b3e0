package vsphereovaqemu

import (
	"io"
	"sync"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

// progressBar drives Packer's progress bar (which counts the bytes read
// from a stream) from a "done of total" callback, such as vmdk.Write's:
// a reader that reports the bytes done since its last Read, without
// moving any data.
type progressBar struct {
	mu     sync.Mutex
	cond   *sync.Cond
	done   int64 // reported by the callback
	read   int64 // handed to the progress bar
	closed bool
	wg     sync.WaitGroup
}

// newProgressBar starts a bar for total bytes; call Update as work is
// done and Close at the end.
func newProgressBar(ui packersdk.Ui, name string, total int64) *progressBar {
	p := &progressBar{}
	p.cond = sync.NewCond(&p.mu)
	tracked := ui.TrackProgress(name, 0, total, barReader{p})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		io.Copy(io.Discard, tracked)
		tracked.Close()
	}()
	return p
}

// Update records that done bytes are finished.
func (p *progressBar) Update(done, _ int64) {
	p.mu.Lock()
	if done > p.done {
		p.done = done
		p.cond.Signal()
	}
	p.mu.Unlock()
}

// Read blocks until there is progress to report and reports it as read
// bytes (the contents of b are not used by its only reader, io.Discard).
func (p *progressBar) Read(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.done == p.read && !p.closed {
		p.cond.Wait()
	}
	if p.done == p.read {
		return 0, io.EOF
	}
	n := p.done - p.read
	if n > int64(len(b)) {
		n = int64(len(b))
	}
	p.read += n
	return int(n), nil
}

// barReader is the bar's stream; its Close (called by the progress bar's
// own Close, from the drawing goroutine) must not wait for that goroutine.
type barReader struct{ p *progressBar }

func (b barReader) Read(buf []byte) (int, error) { return b.p.Read(buf) }
func (b barReader) Close() error                 { return nil }

// Close ends the bar and waits for it to finish drawing.
func (p *progressBar) Close() error {
	p.mu.Lock()
	p.closed = true
	p.cond.Signal()
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}
