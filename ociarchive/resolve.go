package ociarchive

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

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
func (w *writer) resolve(s string) (*plan, error) {
	ref, full, err := parseRef(s, w.o.Insecure)
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
		if img, err = w.resolveIndex(s, ref, desc, p); err != nil {
			return nil, err
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
	// A single-platform image must be for the target platform; an index
	// entry was already picked for it.
	bs, err := w.imageBlobs(s, host, img, !desc.MediaType.IsIndex())
	if err != nil {
		return nil, err
	}
	p.blobs = append(p.blobs, bs...)
	return p, nil
}

// resolveIndex adds the index and the manifests of its other platforms to
// p and returns the target platform's image.
func (w *writer) resolveIndex(s string, ref name.Reference, desc *remote.Descriptor, p *plan) (v1.Image, error) {
	host := ref.Context().RegistryStr()
	p.blobs = append(p.blobs, blob{desc: desc.Descriptor, data: desc.Manifest})
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	child, err := pick(s, im, w.platform)
	if err != nil {
		return nil, err
	}
	if !child.MediaType.IsImage() {
		return nil, fmt.Errorf("image %q: the %s entry of its index is a %s, not an image manifest; nested indexes are not supported", s, platformString(child.Platform), child.MediaType)
	}
	img, err := idx.Image(child.Digest)
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	// The other platforms' manifests (a few KB each, never their configs
	// or layers) are stored too: containerd's import with all platforms,
	// as k3s runs it, reads every manifest of an index and fails on a
	// missing one, while it never reads a config or layer of a platform
	// it does not unpack.
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
	return img, nil
}

// imageBlobs lists an image's manifest, config (both fetched) and layers
// (opened when written). checkPlatform rejects a config for another
// platform.
func (w *writer) imageBlobs(s, host string, img v1.Image, checkPlatform bool) ([]blob, error) {
	raw, err := img.RawManifest()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
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
	cfg, err := img.RawConfigFile()
	if err != nil {
		return nil, describeErr(s, host, err)
	}
	if checkPlatform {
		var cf v1.ConfigFile
		if json.Unmarshal(cfg, &cf) == nil {
			if err := checkConfigPlatform(s, &cf, w.platform); err != nil {
				return nil, err
			}
		}
	}
	out := []blob{
		{desc: v1.Descriptor{MediaType: mt, Digest: mdig, Size: int64(len(raw))}, data: raw},
		{desc: m.Config, data: cfg},
	}
	for _, l := range m.Layers {
		out = append(out, blob{desc: l, open: func() (io.ReadCloser, error) {
			layer, err := img.LayerByDigest(l.Digest)
			if err != nil {
				return nil, err
			}
			return layer.Compressed()
		}})
	}
	return out, nil
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
		im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
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
