//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package atomicfile

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The child side of TestRemoveStale: a run that writes a temporary file
// (OVAKIT_STALE_FILE) and holds a work folder (OVAKIT_STALE_DIR), says so,
// and waits to be killed.
func init() {
	final, dir := os.Getenv("OVAKIT_STALE_FILE"), os.Getenv("OVAKIT_STALE_DIR")
	if final == "" {
		return
	}
	f, err := Create(final, 0o644)
	if err != nil {
		panic(err)
	}
	f.Write(make([]byte, 3000))
	work, err := TempDir(dir, "packer-vsphere-ova-qemu-")
	if err != nil {
		panic(err)
	}
	os.WriteFile(filepath.Join(work, "disk-0.raw"), make([]byte, 5000), 0o600)
	os.Stdout.WriteString("ready " + f.Name() + " " + work + "\n")
	time.Sleep(time.Hour)
	os.Exit(0)
}

// run starts a child run writing final and a work folder in dir, and
// returns it with the paths of its temporary file and work folder.
func startRun(t *testing.T, final, dir string) (*exec.Cmd, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "OVAKIT_STALE_FILE="+final, "OVAKIT_STALE_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 || f[0] != "ready" {
		t.Fatalf("child run: %q, %v", line, err)
	}
	return cmd, f[1], f[2]
}

// TestRemoveStale: the temporary file and work folder of a run killed with
// SIGKILL are removed by the next cleanup, which says what and how big;
// those of a live run stay until it is gone.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	killed, deadFile, deadWork := startRun(t, filepath.Join(dir, "big.ova"), dir)
	live, liveFile, liveWork := startRun(t, filepath.Join(dir, "other.ova"), dir)
	killed.Process.Signal(syscall.SIGKILL)
	killed.Wait()
	// Both runs started a minute ago (older than staleAge).
	old := time.Now().Add(-time.Minute)
	for _, p := range []string{deadFile, deadWork, liveFile, liveWork} {
		os.Chtimes(p, old, old)
	}
	// A just-created unlocked file may be a live run's before it locks it.
	young := filepath.Join(dir, ".young.ova"+TempInfix+"1")
	os.WriteFile(young, nil, 0o644)
	got, err := RemoveStale(dir, "packer-vsphere-ova-qemu-")
	if err != nil {
		t.Fatal(err)
	}
	want := []Removed{{deadFile, 3000}, {deadWork, 5000}}
	if len(got) != 2 || !(got[0] == want[0] && got[1] == want[1] || got[0] == want[1] && got[1] == want[0]) {
		t.Fatalf("removed %v, want %v", got, want)
	}
	if s := got[0].String(); !strings.Contains(s, filepath.Base(got[0].Path)) || !strings.Contains(s, "KiB") {
		t.Errorf("Removed.String() = %q", s)
	}
	for _, p := range []string{liveFile, liveWork, young} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
	live.Process.Signal(syscall.SIGKILL)
	live.Wait()
	got, err = RemoveStale(dir, "packer-vsphere-ova-qemu-")
	if err != nil || len(got) != 2 {
		t.Fatalf("after the live run was killed: removed %v, %v", got, err)
	}
}

// A live run's own files stay when it cleans up itself; a folder without
// an owner lock is not ours to judge, whatever its name.
func TestRemoveStaleSameProcess(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "vm.ova"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	work, err := MkdirTemp(filepath.Join(dir, "vm.ova"))
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveTemp(work)
	foreign := filepath.Join(dir, "packer-vsphere-ova-qemu-123")
	os.Mkdir(foreign, 0o755)
	old := time.Now().Add(-time.Minute)
	for _, p := range []string{f.Name(), work, foreign} {
		os.Chtimes(p, old, old)
	}
	if got, err := RemoveStale(dir, "packer-vsphere-ova-qemu-"); err != nil || len(got) != 0 {
		t.Fatalf("removed %v, %v", got, err)
	}
	if err := f.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := RemoveTemp(work); err != nil {
		t.Fatal(err)
	}
	if l, _ := Leftovers(dir); len(l) != 0 {
		t.Fatalf("leftovers %v", l)
	}
}
