package ova

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/writeback"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// DefaultHeadReserve is the room a Stream keeps at its start for the .ovf
// and .mf members when StreamOptions.HeadReserve is 0: a vSphere export's
// descriptor is a few KiB, the manifest a line per file.
const DefaultHeadReserve = 64 << 10

// StreamOptions shape a Stream.
type StreamOptions struct {
	// Name is the base of the .ovf and .mf members (<Name>.ovf, <Name>.mf).
	Name string
	// Manifest is the .mf's digest algorithm (ovf.NewHash), or "none" for no
	// .mf.
	Manifest string
	// Checksum is the algorithm of the checksum file written beside the OVA
	// (<path>.sha256 or .sha512), or "none".
	Checksum string
	// HeadReserve is the room kept for the .ovf and .mf members, headers
	// included (DefaultHeadReserve when 0). A descriptor that does not fit
	// still works, at the cost of one copy of the archive (Result.Relocated).
	HeadReserve int64
	// ModTime is every member's modification time (now when zero).
	ModTime time.Time
}

// Stream writes an OVA in one pass over its disks, for exporters that learn
// each file's size and digest only once it is written: the disks go straight
// into the archive (each byte written once) behind a reserved head, and the
// .ovf (with the real sizes) and .mf are written into that head at the end
// (Finish). Members are plain USTAR (tarheader.go), in the order the
// descriptor references them, after the .ovf and .mf, as OVF 1.x/2.x
// require. The archive is an atomicfile: nothing appears under its final
// name until Finish publishes it with its checksum file.
type Stream struct {
	o       StreamOptions
	path    string
	f       *atomicfile.File
	wb      *writeback.Writer
	head    int64 // bytes reserved at the start
	off     int64 // end of what was written
	mtime   int64
	members []*StreamMember
	open    *StreamMember
	done    bool
}

// StreamMember is one file being streamed into the archive; Close it before
// the next Create.
type StreamMember struct {
	s      *Stream
	name   string
	hdrOff int64
	size   int64
	h      hash.Hash // nil without a manifest
	digest string
}

// CreateStream starts the OVA at path (its folder must exist).
func CreateStream(path string, o StreamOptions) (*Stream, error) {
	if o.Name == "" {
		return nil, errors.New("OVA stream: no name for the .ovf member")
	}
	for _, alg := range []string{o.Manifest, o.Checksum} {
		if alg != "none" {
			if _, err := ovf.NewHash(alg); err != nil {
				return nil, err
			}
		}
	}
	if o.HeadReserve == 0 {
		o.HeadReserve = DefaultHeadReserve
	}
	if o.ModTime.IsZero() {
		o.ModTime = time.Now()
	}
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return nil, err
	}
	s := &Stream{o: o, path: path, f: f, mtime: o.ModTime.Unix(), head: roundBlock(max(o.HeadReserve, 2*blockSize))}
	s.wb = writeback.NewKeepCache(f.File)
	// The head is written as zeros through the writeback writer, so that
	// the file stays written in order and its pacing sees real offsets.
	if err := s.write(make([]byte, s.head)); err != nil {
		s.Abort()
		return nil, err
	}
	return s, nil
}

// Path is the OVA's final path.
func (s *Stream) Path() string { return s.path }

// Create starts the member name (a file the descriptor references) at the
// current end of the archive: its header is reserved, and written with the
// real size by Close.
func (s *Stream) Create(name string) (*StreamMember, error) {
	switch {
	case s.done:
		return nil, errors.New("OVA stream: already finished or aborted")
	case s.open != nil:
		return nil, fmt.Errorf("OVA stream: member %s is still open", s.open.name)
	}
	if err := ovf.CheckHref(name); err != nil {
		return nil, fmt.Errorf("OVA member %q: %w", name, err)
	}
	if _, err := ustarHeader(name, 0, s.mtime); err != nil {
		return nil, err
	}
	for _, m := range s.members {
		if m.name == name {
			return nil, fmt.Errorf("OVA member %q written twice", name)
		}
	}
	if n := s.o.Name + ".ovf"; name == n || name == s.o.Name+".mf" {
		return nil, fmt.Errorf("OVA member %q: the stream writes its own .ovf and .mf", name)
	}
	m := &StreamMember{s: s, name: name, hdrOff: s.off}
	if s.o.Manifest != "none" {
		m.h, _ = ovf.NewHash(s.o.Manifest)
	}
	var zero [blockSize]byte
	if err := s.write(zero[:]); err != nil {
		return nil, err
	}
	s.open = m
	return m, nil
}

// Write appends p to the member.
func (m *StreamMember) Write(p []byte) (int, error) {
	if m.s.open != m {
		return 0, fmt.Errorf("OVA member %s: write after Close", m.name)
	}
	n, err := m.s.wb.Write(p)
	m.s.off += int64(n)
	m.size += int64(n)
	if m.h != nil {
		m.h.Write(p[:n])
	}
	if err != nil {
		return n, fmt.Errorf("writing %s into OVA %s: %w", m.name, m.s.path, err)
	}
	return n, nil
}

// Copy appends all of r to the member, writing and hashing on goroutines
// of their own (ctxio.Tee), and stops when ctx is done.
func (m *StreamMember) Copy(ctx context.Context, r io.Reader) (int64, error) {
	if m.s.open != m {
		return 0, fmt.Errorf("OVA member %s: write after Close", m.name)
	}
	ws := []io.Writer{fileWriter{m}}
	if m.h != nil {
		ws = append(ws, m.h)
	}
	n, err := ctxio.Tee(ctx, r, ws...)
	if err != nil {
		return n, fmt.Errorf("writing %s into OVA %s: %w", m.name, m.s.path, err)
	}
	return n, nil
}

// fileWriter is the member's file side for Copy (the hash has its own lane).
type fileWriter struct{ m *StreamMember }

func (w fileWriter) Write(p []byte) (int, error) {
	n, err := w.m.s.wb.Write(p)
	w.m.s.off += int64(n)
	w.m.size += int64(n)
	return n, err
}

// Close pads the member to a block and writes its header with the real size.
func (m *StreamMember) Close() error {
	s := m.s
	if s.open != m {
		return nil
	}
	s.open = nil
	if err := s.write(make([]byte, padding(m.size))); err != nil {
		return err
	}
	hdr, err := ustarHeader(m.name, m.size, s.mtime)
	if err != nil {
		return err
	}
	if _, err := s.f.WriteAt(hdr[:], m.hdrOff); err != nil {
		return fmt.Errorf("writing the header of %s into OVA %s: %w", m.name, s.path, err)
	}
	if m.h != nil {
		m.digest = fmt.Sprintf("%x", m.h.Sum(nil))
	}
	s.members = append(s.members, m)
	return nil
}

// Name is the member's name; Size the bytes written so far.
func (m *StreamMember) Name() string { return m.name }
func (m *StreamMember) Size() int64  { return m.size }

func (s *Stream) write(p []byte) error {
	n, err := s.wb.Write(p)
	s.off += int64(n)
	if err != nil {
		return fmt.Errorf("writing OVA %s: %w", s.path, err)
	}
	return nil
}

// Abort removes the temporary file; a no-op after Finish.
func (s *Stream) Abort() {
	if s.wb != nil {
		s.wb.Close()
		s.wb = nil
	}
	s.done = true
	s.f.Abort()
}

func roundBlock(n int64) int64 { return n + padding(n) }

// check matches the descriptor's References with the members written and
// returns the members in References order: the OVA must hold exactly the
// files the descriptor references, with the sizes it states (an order of
// its own costs Finish one copy of the archive).
func (s *Stream) check(desc []byte) ([]*StreamMember, error) {
	d, err := ovf.Parse(desc)
	if err != nil {
		return nil, fmt.Errorf("OVA %s: the descriptor: %w", s.path, err)
	}
	byName := map[string]*StreamMember{}
	var have []string
	for _, m := range s.members {
		byName[m.name] = m
		have = append(have, m.name)
	}
	var ordered []*StreamMember
	for _, f := range d.Files() {
		m := byName[f.Href]
		if m == nil {
			return nil, fmt.Errorf("OVA %s: the descriptor references %s, which was not written (written: %q)", s.path, f.Href, have)
		}
		if f.Size >= 0 && f.Size != m.size {
			return nil, fmt.Errorf("OVA %s: the descriptor gives %s ovf:size=%d but %d bytes were written", s.path, f.Href, f.Size, m.size)
		}
		ordered = append(ordered, m)
		delete(byName, f.Href)
	}
	if len(byName) > 0 {
		var extra []string
		for _, m := range s.members {
			if byName[m.name] != nil {
				extra = append(extra, m.name)
			}
		}
		return nil, fmt.Errorf("OVA %s: %q written but not referenced by the descriptor", s.path, extra)
	}
	return ordered, nil
}
