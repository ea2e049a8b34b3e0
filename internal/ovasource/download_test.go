package ovasource

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
)

// Cancelling the build while the source downloads removes the partial copy.
func TestDownloadCancelRemovesCopy(t *testing.T) {
	started := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10000000")
		w.Write(make([]byte, 64<<10))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done() // never sends the rest
	}))
	defer hs.Close()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; time.Sleep(100 * time.Millisecond); cancel() }()
	_, err := Open(ctx, Options{Path: hs.URL + "/big.ova"})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v, want a cancelled download", err)
	}
	if left, _ := atomicfile.Leftovers(tmp); len(left) != 0 {
		t.Errorf("partial download left: %v", left)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("TMPDIR holds %v", ents)
	}
}

func TestDownloadErrors(t *testing.T) {
	var hits atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if strings.HasSuffix(r.URL.Path, "/short.ova") {
			w.Header().Set("Content-Length", "100")
			w.Write([]byte("only a little"))
			return
		}
		http.NotFound(w, r)
	}))
	defer hs.Close()
	t.Setenv("TMPDIR", t.TempDir())
	for _, c := range []struct{ path, want string }{
		{"/missing.ova", "HTTP 404"},
		{"/short.ova", "unexpected EOF"},
		{"/disks.ovf", "an OVF URL is not supported"},
	} {
		before := hits.Load()
		_, err := Open(context.Background(), Options{Path: hs.URL + c.path})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.path, err, c.want)
		}
		if c.path == "/disks.ovf" && hits.Load() != before {
			t.Errorf("an .ovf URL was downloaded before being refused")
		}
	}
	if ents, _ := os.ReadDir(os.Getenv("TMPDIR")); len(ents) != 0 {
		t.Errorf("TMPDIR holds %v", ents)
	}
}
