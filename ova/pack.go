// Package ova writes OVA archives from an OVF export and reads them back
// without extracting. It has no Packer imports so the post-processor and the
// builder share it.
package ova

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Options configures Pack and PackAll.
type Options struct {
	OVFPath           string          // the export's descriptor; referenced files must sit beside it
	Source            *Archive        // instead of OVFPath: an OVA to re-pack, read in place (source.go)
	Output            string          // final .ova path (Pack); for PackAll, shorthand for Outputs: [{Path: Output}]
	Outputs           []Output        // PackAll: several OVAs from one read of the disks
	ManifestAlgorithm string          // "sha256" (default when ""), "sha512", "sha1"
	ChecksumAlgorithm string          // "sha256" (default), "sha512", "none"
	ExportManifest    string          // optional path of the export's own .mf; "" = auto-detect <ovf base>.mf beside the ovf
	Force             bool            // overwrite existing outputs
	ModTime           *time.Time      // nil: each file's own mtime (whole seconds); set => reproducible
	Progress          ProgressTracker // may be nil
	Logf              func(format string, args ...any)
}

// Output is one OVA of a PackAll: the export's disks (or some of them) under
// a descriptor of its own, e.g. one OVA per import target.
type Output struct {
	Path string // final .ova path
	// Descriptor is this OVA's .ovf; nil means the export's own. It may
	// reference a subset of the export's files, in the export's order. Any
	// ovf:size that does not match the file is corrected as for the export's.
	Descriptor []byte
	// Drop lists hrefs of the export that Descriptor was edited to leave
	// out; Pack checks that Descriptor no longer references them.
	Drop []string
	// Sign, when set, signs this OVA: it gets the manifest member's name and
	// bytes and returns the content of a `<ovf base>.cert` member, which
	// goes right after the .mf as ovftool writes it (ovf.SignManifest makes
	// one). It is called once the manifest is known, before any archive is
	// written, so a signing error leaves nothing behind.
	Sign func(mfName string, mf []byte) (cert []byte, err error)
}

// SizeFix records an ovf:size corrected to the file's real size.
type SizeFix struct {
	Href             string
	Declared, Actual int64
}

// Result describes a written OVA.
type Result struct {
	Path, ChecksumPath string // ChecksumPath "" when ChecksumAlgorithm is "none"
	Size               int64
	Digest             string // hex digest of the whole OVA in DigestAlgorithm
	DigestAlgorithm    string
	Members            []string // tar member names in order
	SizeFixes          []SizeFix
	ReusedManifest     bool // disk digests came from the export's .mf (each disk read once)
}

// Pack writes the OVA for o.OVFPath to o.Output: the .ovf first, a fresh .mf
// second, then the referenced files in References order. The output and the
// checksum file appear atomically or not at all.
func Pack(ctx context.Context, o Options) (*Result, error) {
	if len(o.Outputs) > 0 {
		return nil, errors.New("ova.Pack writes one OVA (Options.Output); use PackAll for Options.Outputs")
	}
	rs, err := PackAll(ctx, o)
	if err != nil {
		return nil, err
	}
	return rs[0], nil
}

// PackAll writes every OVA of o.Outputs (or o.Output) reading each disk of the
// export once (twice when no usable export manifest gives the disks' digests).
// Either every OVA and checksum file appears, or none does.
//
// The steps: plan (check options and inputs, lay out each archive), hash (the
// disks' manifest digests), write (stream every archive to a temporary file),
// publish (checksum files, then all files renamed into place together).
func PackAll(ctx context.Context, o Options) (_ []*Result, err error) {
	p, err := newPlan(o)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.hash(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			p.abort()
		}
	}()
	if err := p.write(ctx); err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return nil, fmt.Errorf("packing cancelled: %w", err)
		}
		return nil, err
	}
	return p.publish(ctx)
}
