package exportdir

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/progress"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// labels records the progress steps shown: their labels, the last step's
// count and total.
type labels struct {
	mu          sync.Mutex
	names       map[string]bool
	last, total int64
}

func (l *labels) TrackProgress(src string, cur, total int64, stream io.ReadCloser) io.ReadCloser {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.names == nil {
		l.names = map[string]bool{}
	}
	l.names[src] = true
	l.last, l.total = cur, total
	return stream
}

// EncodeDisk writes a VMDK that reads back as the disk, hashed for the
// manifest as written, with a progress bar over the whole disk; nothing is
// under the final name until CommitAll.
func TestEncodeDisk(t *testing.T) {
	defer progress.SetInterval(time.Millisecond)()
	dir := t.TempDir()
	d, err := Open(dir, "sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Abort()
	raw := make([]byte, 4<<20)
	copy(raw[1<<20:], bytes.Repeat([]byte("data"), 5000))
	var l labels
	f, st, err := d.EncodeDisk(t.Context(), "app-disk-0.vmdk", bytes.NewReader(raw), int64(len(raw)), vmdk.Options{}, &l, "encode app-disk-0.vmdk")
	if err != nil {
		t.Fatal(err)
	}
	if st.Capacity != int64(len(raw)) || st.AllocatedGrains != 1 || f.Size() != st.Size {
		t.Errorf("stats %+v, file size %d", st, f.Size())
	}
	if _, err := os.Stat(filepath.Join(dir, "app-disk-0.vmdk")); err == nil {
		t.Error("the VMDK is under its final name before CommitAll")
	}
	if err := d.CommitAll(t.Context()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "app-disk-0.vmdk"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(data)); f.Digest() != want {
		t.Errorf("digest %s, want %s", f.Digest(), want)
	}
	if mf := string(d.Manifest(f).Bytes()); mf != "SHA256(app-disk-0.vmdk)= "+f.Digest()+"\n" {
		t.Errorf("manifest %q", mf)
	}
	sr, err := vmdk.NewStreamReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(sr)
	if err != nil || !bytes.Equal(back, raw) {
		t.Errorf("the VMDK does not read back as the disk: %v", err)
	}
	if len(l.names) != 1 || !l.names["encode app-disk-0.vmdk"] || l.last != int64(len(raw)) || l.total != int64(len(raw)) {
		t.Errorf("progress: labels %v, last step %d of %d; want one label ending at %d", l.names, l.last, l.total, len(raw))
	}
}
