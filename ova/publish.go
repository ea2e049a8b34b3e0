package ova

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sumfile"
)

// publish writes each output's checksum file and moves every OVA and
// checksum file into place as one result: all appear, or none. On error the
// caller aborts the OVAs; the checksum files are aborted here.
func (p *plan) publish(ctx context.Context) ([]*Result, error) {
	var files, sums []*atomicfile.File
	defer func() {
		for _, f := range sums {
			f.Abort() // no-op once committed
		}
	}()
	for _, out := range p.outs {
		files = append(files, out.file)
		if out.checksumPath == "" {
			continue
		}
		f, err := atomicfile.Create(out.checksumPath, 0o644)
		if err != nil {
			return nil, err
		}
		sums = append(sums, f)
		if _, err := f.WriteString(sumfile.Line(out.digest, filepath.Base(out.path))); err != nil {
			return nil, fmt.Errorf("writing checksum file %s: %w", out.checksumPath, err)
		}
	}
	if err := atomicfile.CommitAll(ctx, append(files, sums...)...); err != nil {
		return nil, err
	}
	var results []*Result
	for _, out := range p.outs {
		r := &Result{
			Path: out.path, ChecksumPath: out.checksumPath, Size: out.size,
			Digest: out.digest, DigestAlgorithm: p.digestAlg,
			SizeFixes: p.sizeFixes, ReusedManifest: p.reused,
		}
		for _, m := range p.members(out) {
			r.Members = append(r.Members, m.name)
		}
		results = append(results, r)
	}
	return results, nil
}

// abort removes every temporary file written so far.
func (p *plan) abort() {
	for _, out := range p.outs {
		if out.written != nil {
			out.file.Abort()
		}
	}
}
