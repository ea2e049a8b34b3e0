// Package writeback keeps the kernel writing a large file out while it is
// still being written. Without pacing a multi-GiB file sits dirty in the page
// cache (below the background threshold on big-memory hosts) and the whole
// flush happens in the final fsync, after all other work, where nothing
// overlaps it (issue 8: the OVA writer and the builder's export).
package writeback

import "os"

// Window is how much written data may stay dirty before the kernel is asked
// to write it out.
const Window = 32 << 20

// Writer writes a file sequentially and keeps its writeback going: after
// every Window of data it starts writing that window out and waits for the
// one before (on a goroutine of its own), then drops it from the page cache,
// since a file written once and read later by someone else should not push
// the rest of the machine's cache out.
type Writer struct {
	f                *os.File
	written, flushed int64
	windows          chan [2]int64
	done             chan struct{}
}

// kernel is what the Writer asks of the kernel: start writing a range out,
// and wait for a range to be on disk (then drop it from the cache). Tests
// record the calls to check the pacing.
type kernel struct {
	start, await func(f *os.File, off, n int64)
}

// New returns a Writer for f, which must be empty and written only through
// it. Close it before the final fsync.
func New(f *os.File) *Writer { return newWriter(f, kernel{start, await}) }

// NewKeepCache is New for a file its writer reads back at once (the
// streamed OVA's checksum pass): the writeback is paced the same, but the
// written pages stay in the page cache, so the read-back comes from memory
// when the file fits there.
func NewKeepCache(f *os.File) *Writer { return newWriter(f, kernel{start, awaitKeep}) }

func newWriter(f *os.File, k kernel) *Writer {
	start, await := k.start, k.await
	w := &Writer{f: f, windows: make(chan [2]int64, 4), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var prev [2]int64
		for win := range w.windows {
			start(f, win[0], win[1])
			if prev[1] > 0 {
				await(f, prev[0], prev[1])
			}
			prev = win
		}
	}()
	return w
}

// Write writes p to the file.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if w.written-w.flushed >= Window {
		w.windows <- [2]int64{w.flushed, w.written - w.flushed}
		w.flushed = w.written
	}
	return n, err
}

// Close stops the writeback goroutine; the final fsync (atomicfile's Commit)
// writes the rest. It does not close the file.
func (w *Writer) Close() error {
	close(w.windows)
	<-w.done
	return nil
}
