package vsphereova

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// source is an opened OVA or OVF: the descriptor, its parsed envelope, and a
// way to stream each referenced file.
type source struct {
	Path       string // what the user gave
	OVFName    string
	Descriptor []byte
	Envelope   *govmomiovf.Envelope
	Manifest   *ovf.Manifest // nil when the source has none

	archive *ova.Archive // OVA only
	dir     string       // OVF only: the descriptor's folder
	temp    string       // downloaded copy of a URL source, removed by Close
}

// Close releases the source and removes a downloaded copy.
func (s *source) Close() error {
	var err error
	if s.archive != nil {
		err = s.archive.Close()
		s.archive = nil
	}
	if s.temp != "" {
		if rerr := os.Remove(s.temp); rerr != nil && !os.IsNotExist(rerr) && err == nil {
			err = rerr
		}
		s.temp = ""
	}
	return err
}

// openSource downloads (URLs), checks the checksum, indexes the archive and
// checks that every file the OVF references exists. Nothing in vSphere has been
// created yet, so every error here is cheap.
func openSource(ctx context.Context, cfg *Config, progress func(name string, size int64, r io.ReadCloser) io.ReadCloser) (_ *source, err error) {
	s := &source{Path: cfg.SourcePath}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	local := cfg.SourcePath
	if isURL(cfg.SourcePath) {
		local, err = download(ctx, cfg.SourcePath, progress)
		if err != nil {
			return nil, err
		}
		s.temp = local
	}
	if cfg.SourceChecksum != "" {
		if err := verifyChecksum(ctx, local, cfg.SourcePath, cfg.SourceChecksum); err != nil {
			return nil, err
		}
	}

	ext := strings.ToLower(path.Ext(cfg.SourcePath))
	if isURL(cfg.SourcePath) {
		ext = strings.ToLower(path.Ext(strings.SplitN(cfg.SourcePath, "?", 2)[0]))
	}
	if ext == ".ovf" {
		if s.temp != "" {
			return nil, fmt.Errorf("source_path %q: an OVF URL is not supported (its disks would be separate downloads); use an .ova URL or a local .ovf", cfg.SourcePath)
		}
		s.dir = filepath.Dir(local)
		s.OVFName = filepath.Base(local)
		s.Descriptor, err = os.ReadFile(local)
		if err != nil {
			return nil, fmt.Errorf("reading source_path: %w", err)
		}
		mf := strings.TrimSuffix(local, filepath.Ext(local)) + ".mf"
		if data, err := os.ReadFile(mf); err == nil {
			if s.Manifest, err = ovf.ParseManifest(data); err != nil {
				return nil, fmt.Errorf("manifest %s: %w", mf, err)
			}
		}
	} else {
		if err := s.indexOVA(local); err != nil {
			return nil, fmt.Errorf("source_path %s: %w", cfg.SourcePath, err)
		}
	}

	s.Envelope, err = govmomiovf.Unmarshal(bytes.NewReader(s.Descriptor))
	if err != nil {
		return nil, fmt.Errorf("source_path %s: %s is not a valid OVF descriptor: %w", cfg.SourcePath, s.OVFName, err)
	}
	if s.Envelope.References != nil {
		for _, f := range s.Envelope.References {
			if err := ovf.CheckHref(f.Href); err != nil {
				return nil, fmt.Errorf("source_path %s: %s: file %q: %w", cfg.SourcePath, s.OVFName, f.ID, err)
			}
			if _, err := s.stat(f.Href); err != nil {
				return nil, fmt.Errorf("source_path %s: %s references %q (file id %q), but %w; rebuild the OVA/OVF with all its disks", cfg.SourcePath, s.OVFName, f.Href, f.ID, err)
			}
			if s.Manifest != nil {
				if _, ok := s.Manifest.Lookup(f.Href); !ok {
					return nil, fmt.Errorf("source_path %s: the manifest has no digest for %q, which %s references", cfg.SourcePath, f.Href, s.OVFName)
				}
			}
		}
	}
	if s.Manifest != nil {
		if err := s.verifyMember(s.OVFName, s.Descriptor); err != nil {
			return nil, fmt.Errorf("source_path %s: %w", cfg.SourcePath, err)
		}
	}
	return s, nil
}

// indexOVA opens the OVA in place with our ova.Archive: members are read as
// sections of the tar, so disks stream into vSphere without an extracted copy,
// and each is checked against the OVA's manifest as it is read.
func (s *source) indexOVA(p string) error {
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
	if s.Manifest, err = a.Manifest(); err != nil {
		return err
	}
	return nil
}

func (s *source) stat(name string) (int64, error) {
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

// Open streams one referenced file. With a manifest, the digest is checked at
// EOF and a mismatch is returned as the read error, so the upload fails.
func (s *source) Open(name string) (io.ReadCloser, int64, error) {
	if err := ovf.CheckHref(name); err != nil {
		return nil, 0, err
	}
	if s.archive != nil {
		return s.archive.Open(name) // verifies the manifest digest at EOF
	}
	size, err := s.stat(name)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, 0, err
	}
	rc := io.ReadCloser(f)
	if s.Manifest == nil {
		return rc, size, nil
	}
	e, ok := s.Manifest.Lookup(name)
	if !ok {
		rc.Close()
		return nil, 0, fmt.Errorf("the manifest has no digest for %q", name)
	}
	vr, err := ovf.VerifyReader(rc, e, "the source's manifest")
	if err != nil {
		rc.Close()
		return nil, 0, err
	}
	return vr, size, nil
}

func (s *source) verifyMember(name string, data []byte) error {
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

// newChecksumHash is the manifest algorithms plus md5, which published
// checksum files (not manifests) still use.
func newChecksumHash(alg string) (hash.Hash, error) {
	if alg == "md5" {
		return md5.New(), nil
	}
	return ovf.NewHash(alg)
}

// verifyChecksum hashes the local file against source_checksum.
func verifyChecksum(ctx context.Context, local, orig, spec string) error {
	alg, want, err := resolveChecksum(spec, orig)
	if err != nil {
		return err
	}
	h, err := newChecksumHash(alg)
	if err != nil {
		return err
	}
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(h, &ctxReader{ctx: ctx, r: f}); err != nil {
		return fmt.Errorf("computing the checksum of %s: %w", orig, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, want) {
		return fmt.Errorf("source_checksum mismatch for %s: expected %s:%s, computed %s:%s; the file is corrupt or not the one you meant", orig, alg, want, alg, got)
	}
	return nil
}

// resolveChecksum returns the algorithm and digest from `alg:hex` or from a
// checksum file (`file:path`, lines `<hex>  <name>`; the algorithm is guessed
// from the digest length).
func resolveChecksum(spec, orig string) (string, string, error) {
	if m := checksumRE.FindStringSubmatch(spec); m != nil {
		return strings.ToLower(m[1]), strings.ToLower(m[2]), nil
	}
	p := strings.TrimPrefix(spec, "file:")
	data, err := os.ReadFile(p)
	if err != nil {
		return "", "", fmt.Errorf("source_checksum: reading checksum file: %w", err)
	}
	base := path.Base(strings.SplitN(orig, "?", 2)[0])
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		if strings.TrimPrefix(fields[1], "*") != base {
			continue
		}
		d := strings.ToLower(fields[0])
		switch len(d) {
		case 32:
			return "md5", d, nil
		case 40:
			return "sha1", d, nil
		case 64:
			return "sha256", d, nil
		case 128:
			return "sha512", d, nil
		}
		return "", "", fmt.Errorf("source_checksum: %s: the digest for %s has an unknown length", p, base)
	}
	return "", "", fmt.Errorf("source_checksum: %s lists no digest for %q", p, base)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// download fetches a URL source into a temporary file (removed by Close).
// A cached copy is simpler and more robust than Range requests against
// servers of unknown quality, at the cost of local disk space.
func download(ctx context.Context, u string, progress func(string, int64, io.ReadCloser) io.ReadCloser) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("source_path %q: %w", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading source_path: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading source_path %s: HTTP %s", u, resp.Status)
	}
	f, err := os.CreateTemp("", "ovakit-source-*.ova")
	if err != nil {
		return "", err
	}
	body := io.ReadCloser(resp.Body)
	if progress != nil {
		body = progress(path.Base(u), resp.ContentLength, body)
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && resp.ContentLength >= 0 {
		if st, serr := os.Stat(f.Name()); serr == nil && st.Size() != resp.ContentLength {
			err = errors.New("short download")
		}
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("downloading source_path %s: %w", u, err)
	}
	return f.Name(), nil
}
