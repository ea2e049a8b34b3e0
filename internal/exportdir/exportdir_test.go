package exportdir

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/leftover"
)

func sha(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }

func open(t *testing.T, manifest string) (*Dir, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out")
	d, err := Open(path, manifest)
	if err != nil {
		t.Fatal(err)
	}
	return d, path
}

func names(paths []string) string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return strings.Join(out, " ")
}

// Put publishes each file at once, mode 0644, with the digest of what it
// wrote; the manifest lists the descriptor first, then the rest in order.
func TestPutPublishesEachFile(t *testing.T) {
	d, path := open(t, "sha256")
	big := strings.Repeat("disk one ", 300000) // several Tee buffers
	for _, c := range []struct{ name, content string }{{"app-disk-0.vmdk", "disk zero"}, {"app-disk-1.vmdk", big}} {
		f, err := d.Put(context.Background(), c.name, strings.NewReader(c.content))
		if err != nil {
			t.Fatal(err)
		}
		if f.Size() != int64(len(c.content)) || f.Digest() != sha(c.content) {
			t.Errorf("%s: size %d digest %s, want %d %s", c.name, f.Size(), f.Digest(), len(c.content), sha(c.content))
		}
		st, err := os.Stat(filepath.Join(path, c.name))
		if err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s after Put: %v %v, want mode 0644", c.name, st, err)
		}
	}
	ovfFile, err := d.Put(context.Background(), "app.ovf", strings.NewReader("<Envelope/>"))
	if err != nil {
		t.Fatal(err)
	}
	want := "SHA256(app.ovf)= " + sha("<Envelope/>") + "\nSHA256(app-disk-0.vmdk)= " + sha("disk zero") +
		"\nSHA256(app-disk-1.vmdk)= " + sha(big) + "\n"
	if got := string(d.Manifest(ovfFile).Bytes()); got != want {
		t.Errorf("manifest:\n%s\nwant:\n%s", got, want)
	}
	if got := names(d.Published()); got != "app-disk-0.vmdk app-disk-1.vmdk app.ovf" {
		t.Errorf("published %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(path, "app-disk-1.vmdk")); string(b) != big {
		t.Errorf("disk 1 holds %d bytes, want %d", len(b), len(big))
	}
}

// CommitAll publishes nothing before it is called, then every file together.
func TestCommitAllPublishesTogether(t *testing.T) {
	d, path := open(t, "sha1")
	a, err := d.Create("a.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(a, "pushed"); err != nil { // the vmdk.Write path
		t.Fatal(err)
	}
	b, err := d.Create("b.ovf")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Copy(context.Background(), strings.NewReader("copied")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(path); len(ents) != 2 || !strings.Contains(ents[0].Name(), atomicfile.TempInfix) {
		t.Fatalf("before CommitAll the folder holds %v, want two temporary files", ents)
	}
	if want := fmt.Sprintf("SHA1(b.ovf)= %x\nSHA1(a.vmdk)= %x\n", sha1Sum("copied"), sha1Sum("pushed")); string(d.Manifest(b).Bytes()) != want {
		t.Errorf("manifest %q, want %q", string(d.Manifest(b).Bytes()), want)
	}
	if err := d.CommitAll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := names(d.Published()); got != "a.vmdk b.ovf" {
		t.Errorf("published %s", got)
	}
	if a.Size() != 6 {
		t.Errorf("a.vmdk size %d", a.Size())
	}
	if left, _ := atomicfile.Leftovers(path); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestNoManifest(t *testing.T) {
	d, _ := open(t, "none")
	f, err := d.Put(context.Background(), "a.vmdk", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Digest() != "" {
		t.Errorf("digest %q without a manifest", f.Digest())
	}
}

// A cancel in the middle of a copy leaves nothing under the final name, no
// temporary file, and Remove takes away the folder Open made.
func TestCancelledCopyLeavesNothing(t *testing.T) {
	d, path := open(t, "sha256")
	if _, err := d.Put(context.Background(), "a.vmdk", strings.NewReader("done")); err != nil {
		t.Fatal(err)
	}
	// A stream that has delivered part of the file when the build is
	// cancelled, then ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 64<<10))
		cancel()
		pw.Close()
	}()
	if _, err := d.Put(ctx, "b.vmdk", pr); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled Put: %v", err)
	}
	if _, err := os.Stat(filepath.Join(path, "b.vmdk")); !os.IsNotExist(err) {
		t.Errorf("b.vmdk exists after a cancelled Put (%v)", err)
	}
	if left, _ := atomicfile.Leftovers(path); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("folder still there after Remove (%v)", err)
	}
}

// Remove leaves a folder that existed before, and files the export did not
// write; a deferred Abort removes temporary files; an aborted file is not
// in the manifest.
func TestRemoveKeepsForeignFiles(t *testing.T) {
	path := t.TempDir()
	if err := os.WriteFile(filepath.Join(path, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Put(context.Background(), "a.vmdk", strings.NewReader("a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Create("b.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	b.Abort()
	if _, err := d.Create("c.vmdk"); err != nil {
		t.Fatal(err)
	}
	if want := "SHA256(a.vmdk)= " + sha("a") + "\nSHA256(c.vmdk)= " + sha("") + "\n"; string(d.Manifest(a).Bytes()) != want {
		t.Errorf("manifest %q, want %q", string(d.Manifest(a).Bytes()), want)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(path)
	if len(ents) != 1 || ents[0].Name() != "notes.txt" {
		t.Errorf("folder after Remove: %v, want only notes.txt", ents)
	}
}

func TestCreateRefusesPaths(t *testing.T) {
	d, _ := open(t, "sha256")
	for _, name := range []string{"../a.vmdk", "sub/a.vmdk", ""} {
		if _, err := d.Create(name); err == nil || !strings.Contains(err.Error(), "refusing to write export file") {
			t.Errorf("Create(%q): %v", name, err)
		}
	}
}

// Files of one export written on several goroutines at once (run with
// -race): all are published and listed in the manifest.
func TestConcurrentPuts(t *testing.T) {
	d, path := open(t, "sha256")
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := d.Put(context.Background(), fmt.Sprintf("disk-%d.vmdk", i), strings.NewReader(strings.Repeat("x", i<<16)))
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ovfFile, err := d.Put(context.Background(), "app.ovf", strings.NewReader("<Envelope/>"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(d.Manifest(ovfFile).Bytes()), "\n"); n != 9 || len(d.Published()) != 9 {
		t.Errorf("manifest lines %d, published %d, want 9", n, len(d.Published()))
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("folder left after Remove: %v", err)
	}
}

// TestOpenRemovesStaleTemp: Open removes the temporary file a killed
// export left (unlocked, a minute old) and lists it in Stale; a live
// export's (locked) stays.
func TestOpenRemovesStaleTemp(t *testing.T) {
	path := t.TempDir()
	stale := leftover.File(t, path, "vm-disk-0.vmdk", 2048)
	live, err := atomicfile.Create(filepath.Join(path, "vm.ovf"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	leftover.Age(t, live.Name())
	d, err := Open(path, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	if len(d.Stale) != 1 || d.Stale[0] != (atomicfile.Removed{Path: stale, Size: 2048}) {
		t.Errorf("Stale = %v, want %s", d.Stale, stale)
	}
	if _, err := os.Stat(live.Name()); err != nil {
		t.Errorf("a live export's temp file was removed: %v", err)
	}
}
