package atomicfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCommitPublishesWithPerm(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.ova")
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("final name exists before Commit: %v", err)
	}
	if l, _ := Leftovers(dir); len(l) != 1 {
		t.Fatalf("want one temporary file while writing, got %v", l)
	}
	f.WriteString("hello")
	if err := f.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (os.CreateTemp alone gives 0600)", fi.Mode().Perm())
	}
	if l, _ := Leftovers(dir); len(l) != 0 {
		t.Errorf("leftovers after commit: %v", l)
	}
	f.Abort() // no-op after Commit
	if _, err := os.Stat(p); err != nil {
		t.Errorf("Abort after Commit removed the output: %v", err)
	}
}

func TestAbortAndCancelLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a")
	f, _ := Create(p, 0o644)
	f.WriteString("x")
	f.Abort()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WriteFile(ctx, filepath.Join(dir, "b"), []byte("y"), 0o644); err == nil {
		t.Fatal("WriteFile with a cancelled context succeeded")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Fatalf("folder not empty after abort and cancel: %v", ents)
	}
}

func TestCommitAllRollsBack(t *testing.T) {
	dir := t.TempDir()
	a, _ := Create(filepath.Join(dir, "x.ova"), 0o644)
	// The second final name is a non-empty folder: its rename fails, so the
	// first output must not stay either.
	blocked := filepath.Join(dir, "x.ova.sha256")
	os.MkdirAll(filepath.Join(blocked, "keep"), 0o755)
	b, _ := Create(blocked, 0o644)
	if err := CommitAll(context.Background(), a, b); err == nil {
		t.Fatal("CommitAll succeeded with a blocked second output")
	}
	if _, err := os.Stat(filepath.Join(dir, "x.ova")); !os.IsNotExist(err) {
		t.Errorf("first output stayed after the second failed: %v", err)
	}
	if l, _ := Leftovers(dir); len(l) != 0 {
		t.Errorf("leftovers: %v", l)
	}
}

func TestCommitReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("old"), 0o600)
	if err := WriteFile(context.Background(), p, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("got %q", b)
	}
}

// A work folder from MkdirTemp is reported once (not each file in it).
func TestMkdirTempIsALeftover(t *testing.T) {
	dir := t.TempDir()
	work, err := MkdirTemp(filepath.Join(dir, "vm.ova"))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(work) != dir {
		t.Fatalf("work folder %s is not beside the output in %s", work, dir)
	}
	if err := os.WriteFile(filepath.Join(work, "vm-disk-0.vmdk"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if l, _ := Leftovers(dir); len(l) != 1 || l[0] != work {
		t.Fatalf("Leftovers = %v, want [%s]", l, work)
	}
	os.RemoveAll(work)
	if l, _ := Leftovers(dir); len(l) != 0 {
		t.Fatalf("Leftovers after removal = %v", l)
	}
}
