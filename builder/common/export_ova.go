package common

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/exportdir"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// OVAExport is an export with output_format = "ova": the builder streams
// each file into it (Create) and ends it with the descriptor (Finish); the
// OVA and its checksum file appear together, or nothing does.
type OVAExport struct {
	*ova.Stream
	dir     string
	madeDir bool
	// Result is the published OVA, nil until Finish succeeds.
	Result *ova.StreamResult
}

// OVAPath is where output_format = "ova" writes the OVA.
func (e *ExportConfig) OVAPath() string { return filepath.Join(e.OutputDir, e.Name+".ova") }

// CreateOVA creates output_directory when missing, removes what killed runs
// left there (saying so), and starts the OVA. headReserve is the room kept
// for the .ovf and .mf (ova.StreamOptions; 0 for the default).
func (e *ExportConfig) CreateOVA(say func(string), headReserve int64) (*OVAExport, error) {
	_, err := os.Stat(e.OutputDir)
	made := os.IsNotExist(err)
	if err := os.MkdirAll(e.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating export.output_directory: %w", err)
	}
	x := &OVAExport{dir: e.OutputDir, madeDir: made}
	stale, err := atomicfile.RemoveStale(e.OutputDir)
	for _, r := range stale {
		say(fmt.Sprintf("Removed %s, left in the export folder by an interrupted run", r))
	}
	if err != nil {
		x.Remove()
		return nil, err
	}
	x.Stream, err = ova.CreateStream(e.OVAPath(), ova.StreamOptions{
		Name: e.Name, Manifest: e.Manifest, Checksum: e.ChecksumAlgorithm, HeadReserve: headReserve,
	})
	if err != nil {
		x.Remove()
		return nil, err
	}
	return x, nil
}

// Finish publishes the OVA with the descriptor desc (ova.Stream.Finish).
func (x *OVAExport) Finish(ctx context.Context, desc []byte) (*ova.StreamResult, error) {
	res, err := x.Stream.Finish(ctx, desc)
	if err != nil {
		return nil, err
	}
	x.Result = res
	return res, nil
}

// Files are the OVA and its checksum file, once published: the artifact.
func (x *OVAExport) Files() []string {
	if x.Result == nil {
		return nil
	}
	files := []string{x.Result.Path}
	if x.Result.ChecksumPath != "" {
		files = append(files, x.Result.ChecksumPath)
	}
	return files
}

// Remove undoes the export: the temporary file, or the published OVA and
// checksum file, and output_directory when CreateOVA made it and it is
// empty again.
func (x *OVAExport) Remove() error {
	if x.Stream != nil {
		x.Stream.Abort()
	}
	var errs []error
	for _, f := range x.Files() {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	x.Result = nil
	if x.madeDir {
		_ = os.Remove(x.dir) // only if empty
	}
	return errors.Join(errs...)
}

// RemovePartialExport undoes an export step that did not succeed: the
// export folder's files (dir) or the OVA (x), whichever the step started.
// A failure to remove is shown, not returned: cleanup runs on the way out.
func RemovePartialExport(ui packersdk.Ui, dir *exportdir.Dir, x *OVAExport) {
	var err error
	switch {
	case dir != nil:
		err = dir.Remove()
	case x != nil:
		err = x.Remove()
	}
	if err != nil {
		ui.Error(fmt.Sprintf("removing partial export: %v", err))
	}
}
