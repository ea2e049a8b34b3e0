package vsphereova

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/vcsim"
)

// An OVF folder source and an http URL source (downloaded to a temporary
// file, removed afterwards); keep_vm keeps the VM.
func TestOVFAndURLSourcesKeepVM(t *testing.T) {
	skipShort(t, "the fixture disks are made by qemu-img")
	qemu := testenv.LookPath(t, "qemu-img")
	ovfPath, err := fixture.WriteExport(t.TempDir(), fixture.ExportOptions{Name: "folder", WithManifest: true, QemuImg: qemu})
	if err != nil {
		t.Fatal(err)
	}
	srv := startSim(t, vcsim.ModeESXi)
	srv.AutoGuestIP("10.0.0.7")

	raw := baseConfig(srv, ovfPath)
	raw["vm_name"] = "from-ovf"
	raw["keep_vm"] = true
	if _, _, err := runBuild(t, context.Background(), raw); err != nil {
		t.Fatalf("OVF source: %v", err)
	}
	if vms := srv.VMNames(); len(vms) != 1 || vms[0] != "from-ovf" {
		t.Errorf("keep_vm: inventory = %v, want [from-ovf]", vms)
	}

	src := makeOVA(t, "web", 1)
	var served atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		http.ServeFile(w, r, src)
	}))
	defer hs.Close()
	data, _ := os.ReadFile(src)
	sum := sha256.Sum256(data)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	raw = baseConfig(srv, hs.URL+"/web.ova?token=secret")
	raw["vm_name"] = "from-url"
	raw["source_checksum"] = "sha256:" + hex.EncodeToString(sum[:])
	if _, _, err := runBuild(t, context.Background(), raw); err != nil {
		t.Fatalf("URL source: %v", err)
	}
	if served.Load() == 0 {
		t.Error("the URL was never fetched")
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("the downloaded copy was not removed: %v", ents)
	}
	if vms := srv.VMNames(); len(vms) != 1 {
		t.Errorf("inventory = %v, want only the kept from-ovf", vms)
	}
}

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
	_, err := openSource(ctx, &SourceConfig{SourcePath: hs.URL + "/big.ova"}, nil)
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
		_, err := openSource(context.Background(), &SourceConfig{SourcePath: hs.URL + c.path}, nil)
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
