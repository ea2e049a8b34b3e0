package exportdir

import (
	"context"
	"io"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// EncodeDisk writes the disk src (size bytes) into the folder as the
// streamOptimized VMDK name, hashed for the manifest while it is written
// (Encode). Like every File it is published by CommitAll (or Put's commit)
// and removed by Abort.
func (d *Dir) EncodeDisk(ctx context.Context, name string, src io.ReaderAt, size int64, o vmdk.Options, t progress.Tracker, label string) (*File, vmdk.Stats, error) {
	f, err := d.Create(name)
	if err != nil {
		return nil, vmdk.Stats{}, err
	}
	st, err := Encode(ctx, f, src, size, o, t, label)
	if err != nil {
		f.Abort()
		return nil, st, err
	}
	return f, st, nil
}

// Encode writes the disk src (size bytes) to w as a streamOptimized VMDK
// with a progress meter labelled label on t: the one encode step of the
// QEMU builder's export and of the post-processor's disk conversion. An
// *os.File src with holes is read around them (SEEK_DATA).
func Encode(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, o vmdk.Options, t progress.Tracker, label string) (vmdk.Stats, error) {
	bar := progress.Start(t, label, size)
	var shown int64
	o.Progress = func(done, _ int64) {
		bar.Add(done - shown)
		shown = done
	}
	st, err := vmdk.Write(ctx, w, src, size, o)
	bar.Stop()
	return st, err
}
