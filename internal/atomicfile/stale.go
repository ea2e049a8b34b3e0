package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
)

// A run that is killed (SIGKILL, the OOM killer, a power cut) cannot remove
// its temporary files and work folders. Each carries a lock its run holds
// while it lives: a temporary file is locked itself, a work folder through
// the OwnerLock file inside it. The lock is the kernel's (flock), so it is
// released when the process ends however it ends, and it holds across PID
// namespaces (containers sharing a folder), which a PID in the name would
// not. RemoveStale removes what no live run holds.

// OwnerLock is the file in a work folder whose lock says its run is alive
// (a folder with it and no lock held is a killed run's).
const OwnerLock = ".ovakit-owner"

// staleAge is how old (last modified) an unlocked temporary file or folder
// must be to be removed: a run locks what it creates a moment after
// creating it, and a younger one may be in that moment.
var staleAge = 10 * time.Second

// held maps a work folder (TempDir, MkdirTemp) to its open, locked
// OwnerLock, closed by RemoveTemp.
var held sync.Map

// TempDir creates a work folder in parent (os.MkdirTemp's pattern), locked
// as its run's: RemoveStale leaves it alone while this process lives.
// Remove it with RemoveTemp.
func TempDir(parent, pattern string) (string, error) {
	dir, err := os.MkdirTemp(parent, pattern)
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(dir, OwnerLock), os.O_CREATE|os.O_RDWR, 0o600)
	if err == nil {
		if err = lock(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("locking the work folder %s: %w", dir, err)
	}
	held.Store(dir, f)
	return dir, nil
}

// RemoveTemp removes a work folder made by TempDir or MkdirTemp and
// releases its lock.
func RemoveTemp(dir string) error {
	err := os.RemoveAll(dir)
	if f, ok := held.LoadAndDelete(dir); ok {
		f.(*os.File).Close()
	}
	return err
}

// Removed is a temporary file or work folder RemoveStale removed.
type Removed struct {
	Path string
	Size int64 // bytes (a folder: of its files)
}

func (r Removed) String() string { return fmt.Sprintf("%s (%s)", r.Path, progress.Size(r.Size)) }

// RemoveStale removes from dir (not below) the temporary files and work
// folders of runs that are gone: entries named with TempInfix, or folders
// whose name starts with one of prefixes, that no live run holds locked
// and that were not modified for staleAge. A folder counts only with its
// OwnerLock inside (made by TempDir or MkdirTemp; anything else is not
// ours to judge). Where locks are not supported nothing is removed. A
// missing dir has nothing to remove.
func RemoveStale(dir string, prefixes ...string) ([]Removed, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("looking for temporary files of interrupted runs in %s: %w", dir, err)
	}
	var out []Removed
	var errs []error
	for _, e := range ents {
		name := e.Name()
		ours := strings.Contains(name, TempInfix)
		for _, p := range prefixes {
			ours = ours || e.IsDir() && strings.HasPrefix(name, p)
		}
		if !ours || !(e.Type().IsRegular() || e.IsDir()) {
			continue
		}
		r, err := removeIfStale(filepath.Join(dir, name), e.IsDir())
		if err != nil {
			errs = append(errs, err)
		} else if r != nil {
			out = append(out, *r)
		}
	}
	return out, errors.Join(errs...)
}

// removeIfStale removes p when its lock is free and it is old enough;
// nil, nil when it stays.
func removeIfStale(p string, isDir bool) (*Removed, error) {
	lockPath := p
	if isDir {
		lockPath = filepath.Join(p, OwnerLock)
	}
	release, free, err := tryLock(lockPath)
	if err != nil || !free {
		return nil, nil // gone meanwhile, not ours, or alive
	}
	defer release()
	fi, err := os.Stat(p)
	if err != nil || time.Since(fi.ModTime()) < staleAge {
		return nil, nil
	}
	size := fi.Size()
	if isDir {
		size = treeSize(p)
	}
	if err := os.RemoveAll(p); err != nil {
		return nil, fmt.Errorf("removing %s, left by an interrupted run: %w", p, err)
	}
	return &Removed{Path: p, Size: size}, nil
}

func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
