package vsphereova

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
)

// An OVF folder source and an http URL source (downloaded to a temporary
// file, removed afterwards); keep_vm keeps the VM.
func TestOVFAndURLSourcesKeepVM(t *testing.T) {
	qemu := testenv.LookPath(t, "qemu-img")
	ovfPath, err := fixture.WriteExport(t.TempDir(), fixture.ExportOptions{Name: "folder", WithManifest: true, QemuImg: qemu})
	if err != nil {
		t.Fatal(err)
	}
	srv := simvm.Start(t, vcsim.ModeESXi)
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
