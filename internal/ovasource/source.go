// Package ovasource opens the OVA or OVF a build starts from: a local .ova
// (read in place, no extracted copy), a local .ovf folder, or an http(s) URL
// of an .ova, downloaded beforehand (Options.Local: the builders use
// Packer's download step, which caches it). It checks
// source_checksum and the source's own manifest, and streams each file the
// descriptor references with its manifest digest verified at EOF. Both
// builders (vsphere-ova and vsphere-ova-qemu) use it; it has no Packer
// imports.
package ovasource

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// Source is an opened OVA or OVF: the descriptor, its parsed envelope, and a
// way to stream each referenced file.
type Source struct {
	Path       string // what the user gave
	OVFName    string
	Descriptor []byte
	Envelope   *govmomiovf.Envelope
	Manifest   *ovf.Manifest // nil when the source has none
	// Warnings are problems that do not stop a build, for the user: an
	// ovf:size that is not its file's size (vSphere's importer refuses
	// such an OVA; the manifest digest proves the bytes, so a build goes on).
	Warnings []string

	archive *ova.Archive // OVA only
	dir     string       // OVF only: the descriptor's folder
}

// Close releases the source.
func (s *Source) Close() error {
	var err error
	if s.archive != nil {
		err = s.archive.Close()
		s.archive = nil
	}
	return err
}

// Options say what to open.
type Options struct {
	// Path is a local .ova or .ovf, or an http(s) URL of an .ova.
	Path string
	// Local is the downloaded copy of a URL Path, already checked against
	// Checksum (the builders use Packer's download step, which caches it):
	// it is opened instead. Required with a URL.
	Local string
	// Checksum is source_checksum: <algorithm>:<hex>, file:<path or URL
	// of a sha256sum-style file>, or none ("" too).
	Checksum string
	// Option names Path in errors; "" means source_path (the builders').
	Option string
}

// Open checks the checksum (local sources), indexes the archive and
// checks that every file the OVF references exists.
func Open(ctx context.Context, o Options) (_ *Source, err error) {
	s := &Source{Path: o.Path}
	option := o.Option
	if option == "" {
		option = "source_path"
	}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	local := o.Path
	if IsURL(o.Path) {
		if err := CheckURL(o.Path, option); err != nil {
			return nil, err
		}
		if o.Local == "" {
			return nil, fmt.Errorf("%s %s: a URL source is opened from its downloaded copy (Options.Local), which is missing", option, Redact(o.Path))
		}
		local = o.Local
	}
	if !NoChecksum(o.Checksum) && o.Local == "" {
		if err := verifyChecksum(ctx, local, o.Path, o.Checksum); err != nil {
			return nil, err
		}
	}
	if !IsURL(o.Path) && strings.ToLower(filepath.Ext(local)) == ".ovf" {
		err = s.readOVF(local)
	} else {
		err = s.indexOVA(local)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", option, Redact(o.Path), err)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", option, Redact(o.Path), err)
	}
	return s, nil
}

// CheckURL refuses an OVF URL (option names it in the error).
func CheckURL(u, option string) error {
	if urlExt(u) == ".ovf" {
		return fmt.Errorf("%s %s: an OVF URL is not supported (its disks would be separate downloads); use an .ova URL or a local .ovf", option, Redact(u))
	}
	return nil
}

// urlExt is the extension of a URL's path, ignoring the query.
func urlExt(u string) string {
	return strings.ToLower(path.Ext(strings.SplitN(u, "?", 2)[0]))
}

// readOVF reads a local .ovf and the .mf beside it, when there is one.
func (s *Source) readOVF(p string) error {
	s.dir = filepath.Dir(p)
	s.OVFName = filepath.Base(p)
	var err error
	if s.Descriptor, err = os.ReadFile(p); err != nil {
		return err
	}
	mf := strings.TrimSuffix(p, filepath.Ext(p)) + ".mf"
	if data, err := os.ReadFile(mf); err == nil {
		if s.Manifest, err = ovf.ParseManifest(data); err != nil {
			return fmt.Errorf("manifest %s: %w", mf, err)
		}
	}
	return nil
}

// indexOVA opens the OVA in place with our ova.Archive: members are read as
// sections of the tar, so disks stream into vSphere without an extracted copy,
// and each is checked against the OVA's manifest as it is read.
func (s *Source) indexOVA(p string) error {
	a, err := ova.OpenArchive(p)
	if err != nil {
		return err
	}
	s.archive = a
	s.OVFName = a.DescriptorName()
	d, err := a.Descriptor()
	if err != nil {
		return err
	}
	s.Descriptor = d.Bytes()
	s.Manifest, err = a.Manifest()
	return err
}

// check parses the descriptor and checks that every file it references is
// present and listed in the manifest, and the descriptor's own digest.
func (s *Source) check() error {
	var err error
	s.Envelope, err = govmomiovf.Unmarshal(bytes.NewReader(s.Descriptor))
	if err != nil {
		return fmt.Errorf("%s is not a valid OVF descriptor: %w", s.OVFName, err)
	}
	for _, f := range s.Envelope.References {
		if err := ovf.CheckHref(f.Href); err != nil {
			return fmt.Errorf("%s: file %q: %w", s.OVFName, f.ID, err)
		}
		if _, err := s.Stat(f.Href); err != nil {
			return fmt.Errorf("%s references %q (file id %q), but %w; rebuild the OVA/OVF with all its disks", s.OVFName, f.Href, f.ID, err)
		}
		if s.Manifest != nil {
			if _, ok := s.Manifest.Lookup(f.Href); !ok {
				return fmt.Errorf("the manifest has no digest for %q, which %s references", f.Href, s.OVFName)
			}
		}
	}
	s.checkSizes()
	if s.Manifest != nil {
		return s.verifyMember(s.OVFName, s.Descriptor)
	}
	return nil
}

// checkSizes warns about each File whose ovf:size is not its file's size.
func (s *Source) checkSizes() {
	d, err := ovf.Parse(s.Descriptor)
	if err != nil {
		return // govmomi read it; sizes are only checked when ovf reads it too
	}
	for _, f := range d.Files() {
		size, err := s.Stat(f.Href)
		if err != nil || f.Size < 0 || f.Size == size {
			continue
		}
		s.Warnings = append(s.Warnings, fmt.Sprintf("%s declares ovf:size=\"%d\" for %q, but the file has %d bytes: vSphere's importer refuses such an OVA (\"Wrong file size specified in OVF descriptor\"); the build goes on, and the vsphere-ova post-processor writes the true size",
			s.OVFName, f.Size, f.Href, size))
	}
}

// Stat returns the size of a file the descriptor references.
func (s *Source) Stat(name string) (int64, error) {
	if s.archive != nil {
		for _, m := range s.archive.Members() {
			if m.Name == name {
				return m.Size, nil
			}
		}
		return 0, fmt.Errorf("the archive has no member %q", name)
	}
	st, err := os.Stat(filepath.Join(s.dir, name))
	if err != nil {
		return 0, fmt.Errorf("%q does not exist next to the .ovf", name)
	}
	return st.Size(), nil
}

// OpenFile streams one referenced file. With a manifest, the digest is checked at
// EOF and a mismatch is returned as the read error, so the upload fails.
func (s *Source) OpenFile(name string) (io.ReadCloser, int64, error) {
	if err := ovf.CheckHref(name); err != nil {
		return nil, 0, err
	}
	if s.archive != nil {
		return s.archive.Open(name) // verifies the manifest digest at EOF
	}
	size, err := s.Stat(name)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, 0, err
	}
	if s.Manifest == nil {
		return f, size, nil
	}
	e, ok := s.Manifest.Lookup(name)
	if !ok {
		f.Close()
		return nil, 0, fmt.Errorf("the manifest has no digest for %q", name)
	}
	vr, err := ovf.VerifyReader(f, e, "the source's manifest")
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return vr, size, nil
}

// ExplainReadError is what to report when reading the file name, opened
// with OpenFile, failed with err (a decoder's error, say) after rest was
// read up to the failure: it reads the rest to the end, so that the
// manifest digest is checked. A mismatch is the cause (a corrupt download
// or a modified file, not a broken producer) and is returned with err as
// detail; otherwise err, saying when the digest proves the file is as its
// producer wrote it.
func (s *Source) ExplainReadError(ctx context.Context, name string, rest io.Reader, err error) error {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var de *ovf.DigestError
	if errors.As(err, &de) {
		return err
	}
	_, derr := ctxio.Copy(ctx, io.Discard, rest)
	if errors.As(derr, &de) {
		return fmt.Errorf("%w (reading it failed first: %v)", de, err)
	}
	if _, ok := s.Manifest.Lookup(name); ok && derr == nil {
		return fmt.Errorf("%w (%s matches its manifest digest: the file is intact, so its producer wrote it this way)", err, name)
	}
	return err
}

func (s *Source) verifyMember(name string, data []byte) error {
	e, ok := s.Manifest.Lookup(name)
	if !ok {
		return nil // descriptors are not always listed
	}
	h, err := ovf.NewHash(e.Algorithm)
	if err != nil {
		return err
	}
	h.Write(data)
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, e.Digest) {
		return fmt.Errorf("%s does not match its manifest digest (%s %s, computed %s): the source is corrupt or was modified", name, e.Algorithm, e.Digest, got)
	}
	return nil
}
