package ova

import (
	"fmt"
	"os"
)

// openDisk opens a disk for one sequential read.
func openDisk(d *disk) (*os.File, error) {
	f, err := os.Open(d.path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", d.name, err)
	}
	adviseSequential(f)
	return f, nil
}

// writebackWindow is how much written data may stay dirty before the kernel
// is asked to write it out. Without pacing a multi-GiB OVA sits dirty in the
// page cache (below the background threshold on big-memory hosts) and the
// whole flush happens in the final fsync, after all hashing.
const writebackWindow = 32 << 20

// pacedWriter writes an archive sequentially and keeps its writeback going:
// each full window is handed to the kernel for writing at once, and the
// window before it is waited for and dropped from the page cache, on a
// goroutine of its own so the writer never blocks on the disk queue for
// longer than the pipeline's slack.
type pacedWriter struct {
	f                *os.File
	written, flushed int64
	windows          chan [2]int64
	done             chan struct{}
}

func newPacedWriter(f *os.File) *pacedWriter {
	w := &pacedWriter{f: f, windows: make(chan [2]int64, 4), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var prev [2]int64
		for win := range w.windows {
			startWriteback(f, win[0], win[1])
			if prev[1] > 0 {
				awaitWriteback(f, prev[0], prev[1])
			}
			prev = win
		}
	}()
	return w
}

func (w *pacedWriter) write(p []byte) error {
	if _, err := w.f.Write(p); err != nil {
		return err
	}
	w.written += int64(len(p))
	if w.written-w.flushed >= writebackWindow {
		w.windows <- [2]int64{w.flushed, w.written - w.flushed}
		w.flushed = w.written
	}
	return nil
}

// close stops the writeback goroutine; the final fsync (atomicfile's Commit)
// writes the rest.
func (w *pacedWriter) close() {
	close(w.windows)
	<-w.done
}
