// Package ociarchive pulls container images from registries and writes them
// as one zstd-compressed OCI image layout tar (`*.tar.zst`), the format k3s
// imports from /var/lib/rancher/k3s/agent/images/ at every start.
//
// The archive keeps what the registry serves: for a multi-arch tag the entry
// in index.json is the registry's own image index (so its digest is the one
// `crane digest` or `ctr images ls` shows), with the target platform's
// manifest, config and layers, and only the (small) manifests of the other
// platforms: containerd's import, run with all platforms as k3s does, reads
// every manifest of an index but no config or layer of another platform.
// Every blob is stored once, however many images share it, and blobs are
// streamed from the registry straight into the compressed tar: no temporary
// folder of blobs.
//
// The files of the package follow the work: references.go (names),
// auth.go (credentials, TLS trust, redaction), platform.go, resolve.go
// (manifests to blob lists), write.go (the tar), errors.go.
package ociarchive

import (
	"context"
	"errors"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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

// Write pulls every reference for the platform and writes ONE OCI-layout tar
// compressed with zstd to path (which must end in ".tar.zst"), atomically
// (internal/atomicfile): nothing appears under path unless the archive is
// complete, and nothing is left on any error or when ctx is cancelled.
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

// writer is one Write call: its options, the registry client and the blobs
// already in the archive.
type writer struct {
	o          Options
	platform   v1.Platform
	secrets    []string
	remoteOpts []remote.Option
	written    map[v1.Hash]bool
	out        *archive
}

func (w *writer) logf(format string, args ...any) {
	if w.o.Logf != nil {
		w.o.Logf("%s", w.redact(fmt.Sprintf(format, args...)))
	}
}
