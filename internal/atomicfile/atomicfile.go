// Package atomicfile writes outputs so that they appear complete under their
// final name or not at all: a temporary file in the target folder, fsync,
// rename, fsync of the folder, and removal on error or cancel. Every writer in
// the plugin goes through it, so one marker (TempInfix) is all a leftover
// check has to look for. A run killed before it could clean up is cleaned
// up after by the next one (RemoveStale): what a run writes is locked while
// it lives.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// TempInfix is part of every temporary file's name: ".<final name>" + TempInfix
// + random. Tests look for it to prove an interrupted write left nothing.
const TempInfix = ".ovakit-tmp-"

// File is an output being written under a temporary name beside its final
// name. Write to it (it embeds *os.File), then Commit; defer Abort so every
// early return removes the temporary file.
type File struct {
	*os.File
	final string
	perm  os.FileMode
	done  bool
	shut  bool // File closed
}

// Create starts an atomic write of final with permissions perm (applied
// explicitly, so the umask and os.CreateTemp's 0600 do not leak into outputs
// meant for sharing). The folder must exist.
func Create(final string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(final)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+TempInfix+"*")
	if err != nil {
		return nil, fmt.Errorf("creating a temporary file for %s: %w", final, err)
	}
	if err := lock(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("locking the temporary file for %s: %w", final, err)
	}
	return &File{File: f, final: final, perm: perm}, nil
}

// Final is the name the file gets on Commit.
func (f *File) Final() string { return f.final }

// Abort closes and removes the temporary file. It is a no-op after Commit or
// a previous Abort, so it is safe to defer.
func (f *File) Abort() {
	if f == nil {
		return
	}
	if f.done {
		f.close() // published, or aborted before
		return
	}
	f.done = true
	os.Remove(f.File.Name()) // before closing: the lock holds until it is gone
	f.close()
}

func (f *File) close() error {
	if f.shut {
		return nil
	}
	f.shut = true
	return f.File.Close()
}

// flush makes the content durable without publishing it. Where files are
// locked it stays open, so that its lock holds until it has its final name.
func (f *File) flush() error {
	if err := f.File.Chmod(f.perm); err != nil {
		return fmt.Errorf("writing %s: %w", f.final, err)
	}
	if err := f.File.Sync(); err != nil {
		return fmt.Errorf("writing %s: flushing to disk: %w", f.final, err)
	}
	if !locksSupported {
		if err := f.close(); err != nil {
			return fmt.Errorf("writing %s: %w", f.final, err)
		}
	}
	return nil
}

// Commit publishes the file under its final name, replacing any file there.
// When ctx is already cancelled it aborts instead and returns ctx's error:
// a cancelled build publishes nothing.
func (f *File) Commit(ctx context.Context) error {
	return CommitAll(ctx, f)
}

// CommitAll publishes several files as one result (an OVA and its checksum
// file): all are flushed first, then renamed in order; if a rename fails, the
// files already renamed are removed again, so a half result never stays.
func CommitAll(ctx context.Context, files ...*File) error {
	abortAll := func() {
		for _, f := range files {
			f.Abort()
		}
	}
	for _, f := range files {
		if f.done {
			abortAll()
			return fmt.Errorf("%s: already committed or aborted", f.final)
		}
	}
	if err := ctx.Err(); err != nil {
		abortAll()
		return err
	}
	for _, f := range files {
		if err := f.flush(); err != nil {
			abortAll()
			return err
		}
	}
	var published []string
	for _, f := range files {
		if err := os.Rename(f.File.Name(), f.final); err != nil {
			for _, p := range published {
				os.Remove(p)
			}
			abortAll()
			return fmt.Errorf("moving %s into place: %w", f.final, err)
		}
		f.done = true
		published = append(published, f.final)
	}
	var errs []error
	for _, f := range files {
		if err := f.close(); err != nil {
			errs = append(errs, fmt.Errorf("writing %s: %w", f.final, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		for _, p := range published {
			os.Remove(p)
		}
		return err
	}
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(f.final)] = true
	}
	for d := range dirs {
		syncDir(d)
	}
	return nil
}

// WriteFile writes data to name atomically with permissions perm.
func WriteFile(ctx context.Context, name string, data []byte, perm os.FileMode) error {
	f, err := Create(name, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return f.Commit(ctx)
}

// MkdirTemp creates a temporary work folder beside final (".<final
// name>" + TempInfix + random), for outputs assembled from several files,
// locked as TempDir's. The caller removes it with RemoveTemp however the
// work ends; Leftovers reports it when that did not happen.
func MkdirTemp(final string) (string, error) {
	return TempDir(filepath.Dir(final), "."+filepath.Base(final)+TempInfix+"*")
}

// Leftovers lists the temporary files and work folders (MkdirTemp) of
// unfinished writes under dir, recursively. A missing dir has none.
func Leftovers(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if strings.Contains(d.Name(), TempInfix) {
			out = append(out, p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	return out, err
}

// syncDir makes renames durable; best effort, as not every filesystem
// supports fsync on a directory.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
