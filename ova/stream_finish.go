package ova

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sumfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/writeback"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// checksumBuffer is the read size of the checksum pass over the finished
// OVA: large sequential reads keep that pass at disk speed.
const checksumBuffer = 8 << 20

// StreamResult is a published Stream.
type StreamResult struct {
	Path         string
	ChecksumPath string // "" with Checksum "none"
	Size         int64
	// Digest is the whole OVA's hex digest in DigestAlgorithm, as in the
	// checksum file ("" with Checksum "none").
	Digest, DigestAlgorithm string
	Members                 []string // in archive order
	// Relocated says the archive was copied once: the descriptor outgrew
	// the reserved head, or references the files in another order than
	// they were written.
	Relocated bool
	// ChecksumTime is the re-read of the finished OVA for the checksum file.
	ChecksumTime time.Duration
}

// Finish writes the descriptor desc (whose References must list the
// members written, with their sizes) and the manifest into the reserved
// head, ends the archive, writes the checksum file and publishes
// both. The .ovf member is padded to the room the head has with whitespace
// after the root element (XML allows it there), so the disks never move.
// The checksum needs one sequential re-read of the finished OVA: its head
// is written last, so it cannot be hashed while it is written. The stream
// leaves its pages cached (writeback.NewKeepCache) so that the re-read
// comes from memory when the OVA fits there. On error
// or a cancelled ctx nothing is published; the Stream is done either way.
func (s *Stream) Finish(ctx context.Context, desc []byte) (*StreamResult, error) {
	res, err := s.finish(ctx, desc)
	if err != nil {
		s.Abort()
		return nil, err
	}
	return res, nil
}

func (s *Stream) finish(ctx context.Context, desc []byte) (*StreamResult, error) {
	switch {
	case s.done:
		return nil, errors.New("OVA stream: already finished or aborted")
	case s.open != nil:
		return nil, fmt.Errorf("OVA stream: member %s is still open", s.open.name)
	}
	ordered, err := s.check(desc)
	if err != nil {
		return nil, err
	}
	res := &StreamResult{Path: s.path}
	ovfName, mfName := s.o.Name+".ovf", s.o.Name+".mf"
	var mfRoom int64
	if s.o.Manifest != "none" {
		mfRoom = blockSize + roundBlock(int64(len(s.manifest(""))))
	}
	need := blockSize + roundBlock(int64(len(desc))) + mfRoom
	if need > s.head || !slices.Equal(ordered, s.members) {
		if err := s.relocate(ctx, max(need, s.head), ordered); err != nil {
			return nil, err
		}
		res.Relocated = true
	}
	body := padDescriptor(desc, s.head-blockSize-mfRoom)
	head, err := s.headBytes(ovfName, mfName, body)
	if err != nil {
		return nil, err
	}
	if err := s.write(make([]byte, 2*blockSize)); err != nil { // end of archive
		return nil, err
	}
	if _, err := s.f.WriteAt(head, 0); err != nil {
		return nil, fmt.Errorf("writing the descriptor into OVA %s: %w", s.path, err)
	}
	s.wb.Close()
	s.wb = nil
	res.Size = s.off
	res.Members = []string{ovfName}
	if s.o.Manifest != "none" {
		res.Members = append(res.Members, mfName)
	}
	for _, m := range s.members {
		res.Members = append(res.Members, m.name)
	}
	var sum *atomicfile.File
	if s.o.Checksum != "none" {
		var err error
		if sum, err = s.checksum(ctx, res); err != nil {
			return nil, err
		}
		defer sum.Abort()
	}
	files := []*atomicfile.File{s.f}
	if sum != nil {
		files = append(files, sum)
	}
	s.done = true
	if err := atomicfile.CommitAll(ctx, files...); err != nil {
		return nil, err
	}
	return res, nil
}

// manifest renders the .mf with ovfDigest for the descriptor ("" renders a
// placeholder of the right length: the .mf's size depends only on the
// names and the algorithm).
func (s *Stream) manifest(ovfDigest string) []byte {
	if ovfDigest == "" {
		h, _ := ovf.NewHash(s.o.Manifest)
		ovfDigest = strings.Repeat("0", 2*h.Size())
	}
	mf := &ovf.Manifest{Entries: []ovf.ManifestEntry{{Algorithm: s.o.Manifest, Name: s.o.Name + ".ovf", Digest: ovfDigest}}}
	for _, m := range s.members {
		mf.Entries = append(mf.Entries, ovf.ManifestEntry{Algorithm: s.o.Manifest, Name: m.name, Digest: m.digest})
	}
	return mf.Bytes()
}

// headBytes renders the head: the .ovf member (body fills its room
// exactly) and the .mf member with its padding.
func (s *Stream) headBytes(ovfName, mfName string, body []byte) ([]byte, error) {
	var b bytes.Buffer
	hdr, err := ustarHeader(ovfName, int64(len(body)), s.mtime)
	if err != nil {
		return nil, err
	}
	b.Write(hdr[:])
	b.Write(body)
	if s.o.Manifest != "none" {
		h, _ := ovf.NewHash(s.o.Manifest)
		h.Write(body)
		mf := s.manifest(fmt.Sprintf("%x", h.Sum(nil)))
		hdr, err := ustarHeader(mfName, int64(len(mf)), s.mtime)
		if err != nil {
			return nil, err
		}
		b.Write(hdr[:])
		b.Write(mf)
		b.Write(make([]byte, padding(int64(len(mf)))))
	}
	if int64(b.Len()) != s.head {
		return nil, fmt.Errorf("OVA %s: internal error: head is %d bytes, %d reserved", s.path, b.Len(), s.head)
	}
	return b.Bytes(), nil
}

// padDescriptor fills desc to n bytes with spaces and a final newline after
// the root element (XML's trailing Misc), n a multiple of the block size.
func padDescriptor(desc []byte, n int64) []byte {
	k := n - int64(len(desc))
	if k <= 0 {
		return desc
	}
	out := make([]byte, 0, n)
	out = append(out, desc...)
	out = append(out, bytes.Repeat([]byte{' '}, int(k-1))...)
	return append(out, '\n')
}

// relocate copies the members, in the given order, behind a head of head
// bytes into a new temporary file (copy_file_range where the kernel has
// it): for a descriptor larger than the reserve, or one that references the
// files in another order than they were written.
func (s *Stream) relocate(ctx context.Context, head int64, order []*StreamMember) error {
	nf, err := atomicfile.Create(s.path, 0o644)
	if err != nil {
		return err
	}
	s.wb.Close()
	s.wb = nil
	off := head
	_, err = nf.Seek(head, io.SeekStart)
	for _, m := range order {
		if err != nil {
			break
		}
		n := blockSize + m.size + padding(m.size)
		if _, err = s.f.Seek(m.hdrOff, io.SeekStart); err == nil {
			var c int64
			c, err = io.Copy(nf.File, &io.LimitedReader{R: s.f.File, N: n})
			if err == nil && c != n {
				err = fmt.Errorf("%s: %d of %d bytes copied", m.name, c, n)
			}
		}
		if err == nil {
			err = ctx.Err()
		}
		m.hdrOff, off = off, off+n
	}
	if err != nil {
		nf.Abort()
		return fmt.Errorf("OVA %s: copying the members behind a %d-byte head: %w", s.path, head, err)
	}
	s.f.Abort()
	s.f, s.head, s.off, s.members = nf, head, off, order
	s.wb = writeback.NewKeepCache(nf.File)
	return nil
}

// checksum re-reads the finished OVA for the checksum file and starts that
// file (published with the OVA).
func (s *Stream) checksum(ctx context.Context, res *StreamResult) (*atomicfile.File, error) {
	start := time.Now()
	h, err := ovf.NewHash(s.o.Checksum)
	if err != nil {
		return nil, err
	}
	r := ctxio.Reader(ctx, io.NewSectionReader(s.f.File, 0, s.off))
	if _, err := io.CopyBuffer(h, r, make([]byte, checksumBuffer)); err != nil {
		return nil, fmt.Errorf("checksumming OVA %s: %w", s.path, err)
	}
	res.Digest, res.DigestAlgorithm = fmt.Sprintf("%x", h.Sum(nil)), s.o.Checksum
	res.ChecksumPath = s.path + "." + s.o.Checksum
	res.ChecksumTime = time.Since(start)
	f, err := atomicfile.Create(res.ChecksumPath, 0o644)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteString(sumfile.Line(res.Digest, filepath.Base(s.path))); err != nil {
		f.Abort()
		return nil, fmt.Errorf("writing checksum file %s: %w", res.ChecksumPath, err)
	}
	return f, nil
}
