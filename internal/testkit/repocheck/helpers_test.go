package repocheck

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the module's root folder, two levels above this package's.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: the repository root moved?", root)
	}
	return root
}

func stderrOf(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// existing keeps the patterns ("./ovf", "./post-processor/...") whose folder
// exists: a layer may name a package that is not written yet.
func existing(t *testing.T, pats []string) []string {
	t.Helper()
	root := repoRoot(t)
	var out []string
	for _, p := range pats {
		dir := strings.TrimSuffix(strings.TrimSuffix(p, "..."), "/")
		if fi, err := os.Stat(filepath.Join(root, dir)); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// trackedFiles lists the files git tracks, or every file under the root when
// the tree is not a git checkout (an unpacked source archive).
func trackedFiles(t *testing.T) []string {
	t.Helper()
	root := repoRoot(t)
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		var files []string
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if _, err := os.Lstat(filepath.Join(root, f)); err == nil {
				files = append(files, f)
			}
		}
		return files
	}
	var files []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "dist") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			r, _ := filepath.Rel(root, p)
			files = append(files, r)
		}
		return nil
	})
	return files
}
