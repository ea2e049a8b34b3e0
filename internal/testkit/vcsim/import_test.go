package vcsim

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestImportExportRoundTrip(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			e := start(t, mode)
			src := writeFixture(t, "rt", 2)
			vm, uploaded := e.importOVF(t, src, "rt-"+mode)
			if names := e.s.VMNames(); len(names) != 1 || names[0] != "rt-"+mode {
				t.Fatalf("inventory after import: %v", names)
			}

			out := t.TempDir()
			items := exportAll(t, vm, out)
			if len(items) != 2 {
				t.Fatalf("export has %d items, want 2 disks", len(items))
			}
			for _, item := range items {
				if mode == ModeESXi && item.URL.Host != e.s.Host {
					t.Errorf("ESXi device URL host %q was not substituted with %q", item.URL.Host, e.s.Host)
				}
				got := fileSum(t, filepath.Join(out, item.Path))
				want, ok := uploaded[deviceSuffix(item.DeviceId)]
				if !ok {
					t.Fatalf("export item %s (%s) matches no uploaded disk %v", item.DeviceId, item.Path, uploaded)
				}
				if got != want {
					t.Errorf("%s: exported bytes differ from uploaded (sha256 %s, want %s)", item.Path, got, want)
				}
			}

			// The lease is gone after Complete.
			if _, err := vm.Export(t.Context()); err != nil {
				t.Fatalf("second export: %v", err)
			}
			e.s.mu.Lock()
			n := len(e.s.exports)
			e.s.mu.Unlock()
			if n != 1 {
				t.Fatalf("%d export leases tracked, want only the open one", n)
			}
		})
	}
}

func TestLeaseAbortLeavesNoState(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx := t.Context()
			e := start(t, mode)
			src := writeFixture(t, "ab", 1)
			dsDir := e.s.datastoreDir("LocalDS_0")

			// Import: an upload cut off half way, then the builder aborts.
			lease, info := e.beginImport(t, src, "ab-vm")
			item := info.Items[0]
			data, err := os.ReadFile(filepath.Join(filepath.Dir(src), item.Path))
			if err != nil {
				t.Fatal(err)
			}
			// Plain HTTP, as the body error must reach the server mid-stream.
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, item.URL.String(), &failingReader{r: bytes.NewReader(data), n: len(data) / 2})
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len(data))
			if resp, err := insecureClient().Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Fatal("interrupted upload reported success")
				}
			}
			if err := lease.Abort(ctx, nil); err != nil {
				t.Fatalf("abort import: %v", err)
			}
			if names := e.s.VMNames(); len(names) != 0 {
				t.Errorf("VMs left after an aborted import: %v", names)
			}
			assertEmptyDir(t, dsDir)

			// Export: abort, then the URL and the lease are gone.
			vm, _ := e.importOVF(t, src, "ab-vm2")
			xl, err := vm.Export(ctx)
			if err != nil {
				t.Fatal(err)
			}
			xi, err := xl.Wait(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := xl.Abort(ctx, nil); err != nil {
				t.Fatalf("abort export: %v", err)
			}
			resp, err := insecureGet(ctx, xi.Items[0].URL.String())
			if err != nil {
				t.Fatal(err)
			}
			if resp != http.StatusNotFound {
				t.Errorf("GET after abort: status %d, want 404", resp)
			}
			if _, err := xl.Properties(ctx, "state"); err == nil {
				t.Error("export lease still exists after abort")
			}
			e.s.mu.Lock()
			n, m := len(e.s.exports), len(e.s.imports)
			e.s.mu.Unlock()
			if n != 0 || m != 0 {
				t.Errorf("tracked leases after abort/complete: %d export, %d import", n, m)
			}

			// Destroying the VM removes its files.
			task, err := vm.Destroy(ctx)
			if err == nil {
				err = task.Wait(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			assertEmptyDir(t, dsDir)
		})
	}
}
