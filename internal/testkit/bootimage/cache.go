package bootimage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Ensure returns the image for spec from cacheDir, building it (with
// debootstrap from mirror) when it is missing; built says whether it did.
// Concurrent callers, in this or other processes, wait for one build.
func Ensure(ctx context.Context, cacheDir string, spec Spec, mirror string, logf func(string, ...any)) (img *Image, built bool, err error) {
	final := filepath.Join(cacheDir, dirName(spec))
	if img, err := Load(final); err == nil {
		return img, false, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return nil, false, fmt.Errorf("creating cache folder: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cacheDir, ".bootimage.lock"))
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	if img, err := Load(final); err == nil { // built while we waited
		return img, false, nil
	}
	if err := removeStaleBuilds(cacheDir, logf); err != nil {
		return nil, false, err
	}
	root, err := ensureRoot(ctx, cacheDir, spec, mirror, logf)
	if err != nil {
		return nil, false, err
	}
	tmp, err := os.MkdirTemp(cacheDir, buildPrefix)
	if err != nil {
		return nil, false, fmt.Errorf("creating build folder: %w", err)
	}
	defer func() {
		if err != nil {
			if rmErr := removeBuildDir(tmp); rmErr != nil {
				logf("bootimage: %v", rmErr)
			}
		}
	}()
	b := &builder{dir: tmp, spec: spec, root: root, logf: logf}
	info, err := b.build(ctx)
	if err != nil {
		return nil, false, err
	}
	if err := writeInfo(filepath.Join(tmp, infoName), info); err != nil {
		return nil, false, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp made it 0700
		return nil, false, err
	}
	if err := os.RemoveAll(final); err != nil {
		return nil, false, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, false, fmt.Errorf("moving the built image into place: %w", err)
	}
	img, err = Load(final)
	return img, true, err
}

// ensureRoot returns the cached debootstrapped tree for spec, building it
// when missing. The caller holds the build lock.
func ensureRoot(ctx context.Context, cacheDir string, spec Spec, mirror string, logf func(string, ...any)) (string, error) {
	final := filepath.Join(cacheDir, "bootimage-root-"+spec.Suite+"-"+spec.rootKey())
	if _, err := os.Stat(filepath.Join(final, "etc", "debian_version")); err == nil {
		return final, nil
	}
	tmp, err := os.MkdirTemp(cacheDir, buildPrefix)
	if err != nil {
		return "", fmt.Errorf("creating build folder: %w", err)
	}
	defer func() {
		if rmErr := removeBuildDir(tmp); rmErr != nil {
			logf("bootimage: %v", rmErr)
		}
	}()
	start := time.Now()
	root := filepath.Join(tmp, "root")
	if err := debootstrap(ctx, root, spec, mirror, filepath.Join(cacheDir, "debs-"+spec.Suite)); err != nil {
		return "", err
	}
	logf("bootimage: debootstrap %s: %s", spec.Suite, time.Since(start).Round(time.Second))
	if err := os.RemoveAll(final); err != nil {
		return "", err
	}
	if err := os.Rename(root, final); err != nil {
		return "", fmt.Errorf("moving the root into place: %w", err)
	}
	return final, nil
}

// info is image.json: what Load needs beyond the file names.
type info struct {
	User      string `json:"user"`
	Kernel    string `json:"kernel"`
	RootUUID  string `json:"root_uuid"`
	SizeBytes int64  `json:"size_bytes"`
	Built     string `json:"built"`
}

func writeInfo(path string, in info) error {
	data, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Load reads a finished image folder.
func Load(dir string) (*Image, error) {
	data, err := os.ReadFile(filepath.Join(dir, infoName))
	if err != nil {
		return nil, err
	}
	var in info
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, infoName), err)
	}
	key, err := os.ReadFile(filepath.Join(dir, keyName))
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(filepath.Join(dir, diskName))
	if err != nil {
		return nil, err
	}
	if fi.Size() != in.SizeBytes {
		return nil, fmt.Errorf("%s: size %d, want %d", filepath.Join(dir, diskName), fi.Size(), in.SizeBytes)
	}
	return &Image{
		Dir: dir, Disk: filepath.Join(dir, diskName), SizeBytes: in.SizeBytes,
		User: in.User, PrivateKeyPath: filepath.Join(dir, keyName), PrivateKey: key,
		Kernel: in.Kernel, RootUUID: in.RootUUID,
	}, nil
}

// lockFile takes an exclusive flock, polling so that ctx can end the wait.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock %s: %w", path, err)
	}
	for {
		locked, err := tryLock(f)
		if locked {
			return func() { unlock(f); f.Close() }, nil
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for another build of the boot image (lock %s): %w", path, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
