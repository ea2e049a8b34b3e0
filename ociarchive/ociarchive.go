// Package ociarchive pulls container images from registries and writes them
// as one zstd-compressed OCI image layout tar (`*.tar.zst`), the format k3s
// imports from /var/lib/rancher/k3s/agent/images/ at every start.
//
// The archive keeps what the registry serves: for a multi-arch tag the entry
// in index.json is the registry's own image index (so its digest is the one
// `crane digest` or `ctr images ls` shows), with the target platform's
// manifest, config and layers, and only the (small) manifests of the other
// platforms: containerd's import, run with all platforms as k3s does, reads
// every manifest of an index but no config or layer of another platform. Every blob is stored once, however many images
// share it, and blobs are streamed from the registry straight into the
// compressed tar: no temporary folder of blobs.
package ociarchive

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"
)

// Suffix is the file name ending k3s uses to pick the zstd decompressor.
const Suffix = ".tar.zst"

// WindowSize is the zstd window the archive is written with. k3s (and zstd's
// defaults for decoders) accept at most 8 MiB without extra flags.
const WindowSize = 8 << 20

// Annotation keys put on every index.json entry. containerd reads the first
// to name the image it imports; the second is the OCI standard one.
const (
	AnnotationContainerdName = "io.containerd.image.name"
	AnnotationRefName        = "org.opencontainers.image.ref.name"
)

// Auth holds explicit credentials for one registry host.
type Auth struct {
	// Registry host (and port), e.g. "registry.example.com:5000" or
	// "docker.io". A scheme or trailing path is ignored.
	Registry string
	// Username and Password for basic auth (or the token exchange that
	// registries run behind it).
	Username string
	Password string
	// Token, when set, is sent as a bearer token as is (a registry token);
	// Username/Password are then ignored.
	Token string
}

// Options says what to pull and how.
type Options struct {
	// References by tag or digest, e.g. "127.0.0.1:5000/app:1.0",
	// "docker.io/library/nginx@sha256:...". Short Docker Hub names
	// ("nginx:1.27") are expanded as Docker does.
	References []string
	// Platform to pull, "os/arch[/variant]": "linux/amd64" (default),
	// "linux/arm64", ...
	Platform string
	// Auth gives explicit credentials; they take precedence over the
	// docker config.
	Auth []Auth
	// UseDockerConfig also uses authn.DefaultKeychain (docker config.json
	// and credential helpers).
	UseDockerConfig bool
	// CAFiles are extra PEM CA bundles trusted for registry TLS, on top of
	// the system pool.
	CAFiles []string
	// Insecure lists registry hosts reached over plain HTTP (go-containerregistry
	// already does so for localhost and 127.0.0.1).
	Insecure []string
	// Progress, when set, is called as each image's blobs are written, with
	// the bytes done and total for that reference.
	Progress func(ref string, done, total int64)
	// Logf, when set, receives one line per step. Credentials never reach it.
	Logf func(format string, args ...any)
}

// Image is one entry of the archive's index.json.
type Image struct {
	// Reference is the full name stored in the annotations, e.g.
	// "docker.io/library/nginx:1.27".
	Reference string
	// Digest is what the registry serves for the reference (an image index
	// digest for a multi-arch tag).
	Digest string
	// MediaType of the entry (image index or image manifest).
	MediaType string
}

// Result describes a written archive.
type Result struct {
	// Path of the archive.
	Path string
	// Images in index.json order (the order of Options.References).
	Images []Image
	// Blobs is the number of distinct blobs stored under blobs/sha256/.
	Blobs int
	// Size is the archive's size on disk (compressed), in bytes.
	Size int64
	// TarSize is the size of the uncompressed tar stream, in bytes.
	TarSize int64
}

// ReadReferences parses an images_file: one reference per line; '#' starts a
// comment (whole line or after the reference) and blank lines are ignored.
// Each reference is checked, and a bad one is reported with its line number.
func ReadReferences(r io.Reader) ([]string, error) {
	var refs []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.Index(s, "#"); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, " \t") {
			return nil, fmt.Errorf("line %d: %q holds more than one word; write one image reference per line", line, s)
		}
		if _, err := name.ParseReference(s); err != nil {
			return nil, fmt.Errorf("line %d: %q is not an image reference (want e.g. registry.example.com/app:1.0 or nginx@sha256:...): %w", line, s, err)
		}
		refs = append(refs, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading image references: %w", err)
	}
	return refs, nil
}

// Write pulls every reference for the platform and writes ONE OCI-layout tar
// compressed with zstd to path (which must end in ".tar.zst"), atomically: a
// temporary file in path's folder is renamed over path once complete, and is
// removed on any error or when ctx is cancelled.
func Write(ctx context.Context, path string, o Options) (*Result, error) {
	if !strings.HasSuffix(path, Suffix) {
		return nil, fmt.Errorf("image archive path %q must end in %q: k3s only decompresses zstd image archives by that suffix", path, Suffix)
	}
	if len(o.References) == 0 {
		return nil, errors.New("no image references given: list at least one image to bundle")
	}
	plat, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	w := &writer{o: o, platform: plat, secrets: secretsOf(o.Auth), written: map[v1.Hash]bool{}}
	if w.remoteOpts, err = w.options(ctx); err != nil {
		return nil, w.redactErr(err)
	}
	res, err := w.write(ctx, path)
	if err != nil {
		return nil, w.redactErr(err)
	}
	return res, nil
}

type writer struct {
	o          Options
	platform   v1.Platform
	secrets    []string
	remoteOpts []remote.Option
	written    map[v1.Hash]bool
	tw         *tar.Writer
	tarSize    *countingWriter
}

func parsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		s = "linux/amd64"
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("platform %q is not os/arch[/variant]; use e.g. linux/amd64 or linux/arm64", s)
	}
	return *p, nil
}

func secretsOf(auths []Auth) []string {
	var s []string
	for _, a := range auths {
		for _, v := range []string{a.Password, a.Token} {
			// Very short values would redact innocent text; they are
			// still never logged by this package.
			if len(v) >= 4 {
				s = append(s, v)
			}
		}
	}
	return s
}

// redact removes any credential from text: a safety net in case a registry
// or library echoes one back in an error.
func (w *writer) redact(s string) string {
	for _, v := range w.secrets {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	return s
}

func (w *writer) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); w.redact(msg) != msg {
		return errors.New(w.redact(msg))
	}
	return err
}

func (w *writer) logf(format string, args ...any) {
	if w.o.Logf != nil {
		w.o.Logf("%s", w.redact(fmt.Sprintf(format, args...)))
	}
}

// options builds the go-containerregistry options shared by every request:
// context, TLS with the extra CAs, credentials, platform.
func (w *writer) options(ctx context.Context) ([]remote.Option, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if len(w.o.CAFiles) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, f := range w.o.CAFiles {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("reading registry CA file: %w", err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("registry CA file %q holds no PEM certificate", f)
			}
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	var kc authn.Keychain = explicitKeychain(w.o.Auth)
	if w.o.UseDockerConfig {
		kc = authn.NewMultiKeychain(kc, authn.DefaultKeychain)
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(tr),
		remote.WithAuthFromKeychain(kc),
		remote.WithPlatform(w.platform),
	}
	// One puller shares the registry ping and auth token across all
	// requests to a repository instead of redoing them per request.
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("setting up the registry client: %w", err)
	}
	return append(opts, remote.Reuse(puller)), nil
}

// normHost maps the spellings of a registry host users write to the one
// go-containerregistry resolves (Docker Hub has three).
func normHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "https://"), "http://")
	if i := strings.Index(h, "/"); i >= 0 {
		h = h[:i]
	}
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return name.DefaultRegistry
	}
	return h
}

type explicitKeychain []Auth

func (k explicitKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	host := normHost(res.RegistryStr())
	for _, a := range k {
		if normHost(a.Registry) != host {
			continue
		}
		if a.Token != "" {
			return authn.FromConfig(authn.AuthConfig{RegistryToken: a.Token}), nil
		}
		return authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password}), nil
	}
	return authn.Anonymous, nil
}

// Name returns the full name an image reference is stored under in the
// archive's annotations, which is also the name containerd (and so
// `k3s ctr images ls` and `crictl images`) lists it by: Docker Hub names
// expanded ("nginx" -> "docker.io/library/nginx:latest"), a tag kept next
// to a digest.
func Name(ref string) (string, error) {
	_, full, err := (&writer{}).parseRef(ref)
	return full, err
}

// parseRef parses a reference, honouring Options.Insecure, and returns the
// full name to store (Docker Hub as "docker.io", a tag kept next to a digest).
func (w *writer) parseRef(s string) (name.Reference, string, error) {
	var opts []name.Option
	if r, err := name.ParseReference(s); err == nil {
		for _, h := range w.o.Insecure {
			if normHost(h) == normHost(r.Context().RegistryStr()) {
				opts = append(opts, name.Insecure)
			}
		}
	}
	ref, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("image %q is not a valid reference (want e.g. registry.example.com/app:1.0 or nginx@sha256:...): %w", s, err)
	}
	repo := ref.Context()
	host := repo.RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io" // the name containerd and k3s use
	}
	full := host + "/" + repo.RepositoryStr()
	switch r := ref.(type) {
	case name.Tag:
		full += ":" + r.TagStr()
	case name.Digest:
		// "app:1.0@sha256:..." keeps its tag in the name, as containerd does.
		if t, err := name.NewTag(strings.SplitN(s, "@", 2)[0], name.StrictValidation); err == nil {
			full += ":" + t.TagStr()
		}
		full += "@" + r.DigestStr()
	}
	return ref, full, nil
}

// describeErr turns a registry or network error into one that names the
// image, the registry and what went wrong.
func describeErr(ref string, host string, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		what := fmt.Sprintf("HTTP %d", terr.StatusCode)
		for _, d := range terr.Errors {
			what += fmt.Sprintf(" %s: %s", d.Code, d.Message)
		}
		if len(terr.Errors) == 0 {
			what = strings.TrimSpace(terr.Error())
		}
		hint := ""
		switch {
		case strings.Contains(what, "HTTPS server"):
			// go-containerregistry tries HTTPS, then plain HTTP for
			// loopback and private hosts: the HTTPS failure is lost.
			return fmt.Errorf("image %q: registry %s speaks HTTPS but its certificate was not trusted (then plain HTTP got: %s); give the registry's CA in the CA files", ref, host, what)
		}
		switch terr.StatusCode {
		case http.StatusNotFound:
			hint = "; check the repository name and tag or digest"
		case http.StatusUnauthorized, http.StatusForbidden:
			hint = "; check the credentials given for this registry"
		}
		return fmt.Errorf("image %q: registry %s answered %s%s", ref, host, what, hint)
	}
	if strings.Contains(err.Error(), "x509:") {
		return fmt.Errorf("image %q: the TLS certificate of registry %s is not trusted; give the registry's CA in the CA files: %w", ref, host, err)
	}
	var nerr net.Error
	var operr *net.OpError
	if errors.As(err, &operr) || errors.As(err, &nerr) {
		return fmt.Errorf("image %q: cannot reach registry %s: %w", ref, host, err)
	}
	return fmt.Errorf("image %q (registry %s): %w", ref, host, err)
}

// blob is one file to store under blobs/sha256/.
type blob struct {
	desc v1.Descriptor
	data []byte                        // manifests and configs, already fetched
	open func() (io.ReadCloser, error) // layers, streamed
}

// plan is what one reference contributes to the archive.
type plan struct {
	image Image
	entry v1.Descriptor
	blobs []blob
}

// resolve fetches the manifests and config of one reference and lists the
// blobs the target platform needs.
func (w *writer) resolve(ctx context.Context, s string) (*plan, error) {
	ref, full, err := w.parseRef(s)
	if err != nil {
		return nil, err
	}
	host := ref.Context().RegistryStr()
	desc, err := remote.Get(ref, w.remoteOpts...)
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	p := &plan{
		image: Image{Reference: full, Digest: desc.Digest.String(), MediaType: string(desc.MediaType)},
		entry: v1.Descriptor{
			MediaType: desc.MediaType,
			Digest:    desc.Digest,
			Size:      desc.Size,
			Annotations: map[string]string{
				AnnotationContainerdName: full,
				AnnotationRefName:        full,
			},
		},
	}
	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		p.blobs = append(p.blobs, blob{desc: desc.Descriptor, data: desc.Manifest})
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, describeErr(s, host, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, describeErr(s, host, err)
		}
		child, err := w.pick(s, im)
		if err != nil {
			return nil, err
		}
		if !child.MediaType.IsImage() {
			return nil, fmt.Errorf("image %q: the %s entry of its index is a %s, not an image manifest; nested indexes are not supported", s, platformString(child.Platform), child.MediaType)
		}
		if img, err = idx.Image(child.Digest); err != nil {
			return nil, describeErr(s, host, err)
		}
		// The other platforms' manifests (a few KB each, never their
		// configs or layers) are stored too: containerd's import with
		// all platforms, as k3s runs it, reads every manifest of an
		// index and fails on a missing one, while it never reads a
		// config or layer of a platform it does not unpack.
		for _, d := range im.Manifests {
			if d.Digest == child.Digest {
				continue
			}
			bs, err := w.manifests(ref, d, 0)
			if err != nil {
				return nil, describeErr(s, host, err)
			}
			p.blobs = append(p.blobs, bs...)
		}
	case desc.MediaType.IsSchema1():
		return nil, fmt.Errorf("image %q: registry %s serves a Docker schema 1 manifest, which containerd and k3s no longer import; push the image again with a current client", s, host)
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return nil, describeErr(s, host, err)
		}
	default:
		return nil, fmt.Errorf("image %q: registry %s serves a %q, not an image or image index", s, host, desc.MediaType)
	}

	raw, err := img.RawManifest()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	m, err := v1.ParseManifest(strings.NewReader(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("image %q: parsing its manifest: %w", s, err)
	}
	mdig, err := img.Digest()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	mt, err := img.MediaType()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	p.blobs = append(p.blobs, blob{desc: v1.Descriptor{MediaType: mt, Digest: mdig, Size: int64(len(raw))}, data: raw})
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	if !desc.MediaType.IsIndex() {
		// A single-platform image must be for the target platform:
		// k3s would import it and then fail to run it.
		var cf v1.ConfigFile
		if json.Unmarshal(cfg, &cf) == nil && cf.OS != "" && cf.Architecture != "" {
			have := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
			// Many single-platform configs leave the variant out.
			if !matches(have, w.platform, have.Variant == "") {
				return nil, fmt.Errorf("image %q is for platform %s only (a single-platform image), not %s; available platforms: [%s]; pick another tag or set the platform", s, platformString(&have), platformString(&w.platform), platformString(&have))
			}
		}
	}
	p.blobs = append(p.blobs, blob{desc: m.Config, data: cfg})
	for _, l := range m.Layers {
		l := l
		p.blobs = append(p.blobs, blob{desc: l, open: func() (io.ReadCloser, error) {
			layer, err := img.LayerByDigest(l.Digest)
			if err != nil {
				return nil, err
			}
			return layer.Compressed()
		}})
	}
	return p, nil
}

// manifests fetches the manifest (or index, with its own manifests) d of
// ref's repository, without configs or layers.
func (w *writer) manifests(ref name.Reference, d v1.Descriptor, depth int) ([]blob, error) {
	if !d.MediaType.IsImage() && !d.MediaType.IsIndex() {
		return nil, nil // containerd does not read other kinds when walking an index
	}
	desc, err := remote.Get(ref.Context().Digest(d.Digest.String()), w.remoteOpts...)
	if err != nil {
		return nil, fmt.Errorf("fetching the %s manifest %s: %w", platformString(d.Platform), d.Digest, err)
	}
	if desc.Digest != d.Digest || int64(len(desc.Manifest)) != d.Size {
		return nil, fmt.Errorf("manifest %s: the registry served %s (%d bytes), the index says %d bytes", d.Digest, desc.Digest, len(desc.Manifest), d.Size)
	}
	out := []blob{{desc: d, data: desc.Manifest}}
	if d.MediaType.IsIndex() {
		if depth >= 2 {
			return nil, fmt.Errorf("index %s nests indexes more than 2 levels deep", d.Digest)
		}
		im, err := v1.ParseIndexManifest(strings.NewReader(string(desc.Manifest)))
		if err != nil {
			return nil, fmt.Errorf("parsing index %s: %w", d.Digest, err)
		}
		for _, c := range im.Manifests {
			bs, err := w.manifests(ref, c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, bs...)
		}
	}
	return out, nil
}

// matches reports whether have is usable for want: OS and architecture
// equal, want's variant (if any) equal, with arm64's default variant v8
// equal to none, as containerd treats it. anyVariant skips the variant.
func matches(have, want v1.Platform, anyVariant bool) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	if anyVariant || want.Variant == "" {
		return true
	}
	hv, wv := have.Variant, want.Variant
	if have.Architecture == "arm64" {
		if hv == "" {
			hv = "v8"
		}
		if wv == "" {
			wv = "v8"
		}
	}
	return hv == wv
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// pick chooses the index entry for the target platform: an exact variant
// match first, else the first that satisfies it (linux/arm64 takes
// linux/arm64/v8).
func (w *writer) pick(ref string, im *v1.IndexManifest) (v1.Descriptor, error) {
	var avail []string
	var found *v1.Descriptor
	for i := range im.Manifests {
		d := im.Manifests[i]
		if d.Platform == nil {
			continue
		}
		// Attestation manifests (unknown/unknown) are not platforms.
		if d.Platform.OS != "unknown" {
			avail = append(avail, platformString(d.Platform))
		}
		if !matches(*d.Platform, w.platform, false) {
			continue
		}
		if found == nil || (d.Platform.Variant == w.platform.Variant && found.Platform.Variant != w.platform.Variant) {
			found = &im.Manifests[i]
		}
	}
	if found == nil {
		sort.Strings(avail)
		return v1.Descriptor{}, fmt.Errorf("image %q has no %s image; available platforms: [%s]; pick another tag or set the platform", ref, platformString(&w.platform), strings.Join(avail, " "))
	}
	return *found, nil
}

func (w *writer) write(ctx context.Context, path string) (res *Result, err error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("folder %q for the image archive does not exist; create it first", dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("image archive path %q is a folder; give a file name ending in %q", path, Suffix)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating the image archive: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// Stop promptly on cancel even while a registry read blocks: remote's
	// requests carry ctx, and every write to the file checks it too.
	cw := &countingWriter{w: f, ctx: ctx}
	bw := bufio.NewWriterSize(cw, 1<<20)
	zw, err := zstd.NewWriter(bw, zstd.WithWindowSize(WindowSize), zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return nil, fmt.Errorf("starting zstd: %w", err)
	}
	defer zw.Close()
	w.tarSize = &countingWriter{w: zw, ctx: ctx}
	w.tw = tar.NewWriter(w.tarSize)

	if err := w.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return nil, err
	}
	if err := w.file("blobs/", nil); err != nil {
		return nil, err
	}
	if err := w.file("blobs/sha256/", nil); err != nil {
		return nil, err
	}
	index := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	res = &Result{Path: path}
	seen := map[string]bool{}
	for _, ref := range w.o.References {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("image archive %q: %w", path, err)
		}
		if seen[ref] {
			w.logf("%s: listed twice, bundled once", ref)
			continue
		}
		seen[ref] = true
		w.logf("%s: resolving for %s", ref, platformString(&w.platform))
		p, err := w.resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		w.logf("%s: %s %s", ref, p.image.MediaType, p.image.Digest)
		if err := w.blobs(ctx, ref, p.blobs); err != nil {
			return nil, err
		}
		index.Manifests = append(index.Manifests, p.entry)
		res.Images = append(res.Images, p.image)
	}
	ij, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	if err := w.file("index.json", ij); err != nil {
		return nil, err
	}
	if err := w.tw.Close(); err != nil {
		return nil, fmt.Errorf("writing the image archive tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing the image archive: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("writing the image archive %q: %w", tmp, err)
	}
	if err := f.Chmod(0o644); err != nil {
		return nil, fmt.Errorf("image archive %q: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("image archive %q: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("image archive %q: %w", tmp, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("image archive %q: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("moving the image archive into place: %w", err)
	}
	res.Blobs = len(w.written)
	res.Size = cw.n
	res.TarSize = w.tarSize.n
	w.logf("wrote %s: %d images, %d blobs, %d bytes (%d uncompressed)", path, len(res.Images), res.Blobs, res.Size, res.TarSize)
	return res, nil
}

var epoch = time.Unix(0, 0)

// file writes a small file (or a folder, when name ends in "/") to the tar.
func (w *writer) file(name string, data []byte) error {
	h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if strings.HasSuffix(name, "/") {
		h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
	}
	if err := w.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing %s to the image archive: %w", name, err)
	}
	if _, err := w.tw.Write(data); err != nil {
		return fmt.Errorf("writing %s to the image archive: %w", name, err)
	}
	return nil
}

// blobs stores the blobs not yet in the archive, streaming layers from the
// registry and checking each against its digest and size.
func (w *writer) blobs(ctx context.Context, ref string, bs []blob) error {
	var total, done int64
	for _, b := range bs {
		if !w.written[b.desc.Digest] {
			total += b.desc.Size
		}
	}
	for _, b := range bs {
		if w.written[b.desc.Digest] {
			w.logf("%s: blob %s already in the archive (shared)", ref, b.desc.Digest)
			continue
		}
		if b.desc.Digest.Algorithm != "sha256" {
			return fmt.Errorf("image %q: blob %s uses %s; only sha256 digests are supported", ref, b.desc.Digest, b.desc.Digest.Algorithm)
		}
		h := &tar.Header{Name: "blobs/sha256/" + b.desc.Digest.Hex, Mode: 0o644, Size: b.desc.Size, ModTime: epoch, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := w.tw.WriteHeader(h); err != nil {
			return fmt.Errorf("image %q: writing blob %s: %w", ref, b.desc.Digest, err)
		}
		if b.data != nil {
			if int64(len(b.data)) != b.desc.Size {
				return fmt.Errorf("image %q: blob %s is %d bytes, its descriptor says %d", ref, b.desc.Digest, len(b.data), b.desc.Size)
			}
			if _, err := w.tw.Write(b.data); err != nil {
				return fmt.Errorf("image %q: writing blob %s: %w", ref, b.desc.Digest, err)
			}
		} else {
			rc, err := b.open()
			if err != nil {
				return describeErr(ref, refHost(ref), fmt.Errorf("fetching layer %s: %w", b.desc.Digest, err))
			}
			pr := &progressReader{r: rc, fn: w.o.Progress, ref: ref, done: done, total: total}
			// remote's Compressed() verifies the digest at EOF; the
			// tar writer rejects a short or long body.
			n, err := io.Copy(w.tw, pr)
			rc.Close()
			if err == nil && n != b.desc.Size {
				err = fmt.Errorf("got %d bytes, the manifest says %d", n, b.desc.Size)
			}
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("image %q: %w", ref, ctx.Err())
				}
				return describeErr(ref, refHost(ref), fmt.Errorf("layer %s: %w", b.desc.Digest, err))
			}
		}
		w.written[b.desc.Digest] = true
		done += b.desc.Size
		if w.o.Progress != nil {
			w.o.Progress(ref, done, total)
		}
	}
	return nil
}

func refHost(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "?"
	}
	return r.Context().RegistryStr()
}

type countingWriter struct {
	w   io.Writer
	ctx context.Context
	n   int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// progressReader reports progress about every 4 MiB, not on each read.
type progressReader struct {
	r                 io.Reader
	fn                func(string, int64, int64)
	ref               string
	done, total, last int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if p.fn != nil && p.done-p.last >= 4<<20 {
		p.last = p.done
		p.fn(p.ref, p.done, p.total)
	}
	return n, err
}
