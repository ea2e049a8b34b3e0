package vcsim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

var modes = []string{ModeVCenter, ModeESXi}

// env is one running simulator plus a logged-in client, as a builder has.
type env struct {
	s    *Server
	c    *vim25.Client
	dc   *object.Datacenter
	ds   *object.Datastore
	pool *object.ResourcePool
	vmf  *object.Folder
	net  object.NetworkReference
}

func start(t *testing.T, mode string) *env {
	t.Helper()
	ctx := t.Context()
	s, err := Start(ctx, mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if !strings.HasPrefix(s.Host, "127.0.0.1:") || s.URL.Scheme != "https" {
		t.Fatalf("server must be https on 127.0.0.1, got %s (host %s)", s.URL.Redacted(), s.Host)
	}
	// Log in the way a builder does: host, user and password, not the URL.
	u := &url.URL{Scheme: "https", Host: s.Host, Path: "/sdk", User: url.UserPassword(s.Username, s.Password)}
	gc, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { _ = gc.Logout(context.Background()) })
	if got, want := gc.IsVC(), mode == ModeVCenter; got != want {
		t.Fatalf("IsVC() = %v in mode %s", got, mode)
	}
	f := find.NewFinder(gc.Client)
	dc, err := f.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	e := &env{s: s, c: gc.Client, dc: dc}
	if e.ds, err = f.Datastore(ctx, "LocalDS_0"); err != nil {
		t.Fatal(err)
	}
	// vcenter mode has a cluster and a standalone host: place on the cluster.
	if mode == ModeVCenter {
		cl, err := f.DefaultClusterComputeResource(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e.pool, err = cl.ResourcePool(ctx)
	} else {
		e.pool, err = f.DefaultResourcePool(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.vmf = folders.VmFolder
	if e.net, err = f.Network(ctx, "VM Network"); err != nil {
		t.Fatal(err)
	}
	return e
}

// export writes a fixture vSphere export (real streamOptimized VMDKs made by
// qemu-img) and returns the .ovf path.
func writeFixture(t *testing.T, name string, disks int) string {
	t.Helper()
	qemu := testenv.LookPath(t, "qemu-img")
	p, err := fixture.WriteExportContext(t.Context(), t.TempDir(), fixture.ExportOptions{
		Name: name, Disks: disks, DiskMiB: 16, DataMiB: 1, QemuImg: qemu,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// beginImport does CreateImportSpec + ImportVApp + lease.Wait, as a builder.
func (e *env) beginImport(t *testing.T, ovfPath, name string) (*nfc.Lease, *nfc.LeaseInfo) {
	t.Helper()
	ctx := t.Context()
	desc, err := os.ReadFile(ovfPath)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := govovf.NewManager(e.c).CreateImportSpec(ctx, string(desc), e.pool, e.ds, &types.OvfCreateImportSpecParams{
		EntityName:     name,
		NetworkMapping: []types.OvfNetworkMapping{{Name: "VM Network", Network: e.net.Reference()}},
	})
	if err != nil {
		t.Fatalf("CreateImportSpec: %v", err)
	}
	if len(spec.Error) > 0 {
		t.Fatalf("CreateImportSpec: %s", spec.Error[0].LocalizedMessage)
	}
	lease, err := e.pool.ImportVApp(ctx, spec.ImportSpec, e.vmf, nil)
	if err != nil {
		t.Fatalf("ImportVApp: %v", err)
	}
	info, err := lease.Wait(ctx, spec.FileItem)
	if err != nil {
		t.Fatalf("import lease: %v", err)
	}
	if len(info.Items) != len(spec.FileItem) || len(info.Items) == 0 {
		t.Fatalf("import lease has %d items, import spec %d", len(info.Items), len(spec.FileItem))
	}
	return lease, info
}

// importOVF imports and uploads every file; it returns the VM and the SHA-256
// of each uploaded file by disk index suffix ("disk:0", ...).
func (e *env) importOVF(t *testing.T, ovfPath, name string) (*object.VirtualMachine, map[string]string) {
	t.Helper()
	ctx := t.Context()
	lease, info := e.beginImport(t, ovfPath, name)
	upd := lease.StartUpdater(ctx, info)
	sums := map[string]string{}
	for _, item := range info.Items {
		f, err := os.Open(filepath.Join(filepath.Dir(ovfPath), item.Path))
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		err = lease.Upload(ctx, item, f, soap.Upload{ContentLength: fi.Size()})
		f.Close()
		if err != nil {
			t.Fatalf("upload %s: %v", item.Path, err)
		}
		sums[deviceSuffix(item.DeviceId)] = fileSum(t, filepath.Join(filepath.Dir(ovfPath), item.Path))
	}
	upd.Done()
	if err := lease.Complete(ctx); err != nil {
		t.Fatalf("complete import: %v", err)
	}
	return object.NewVirtualMachine(e.c, info.Entity), sums
}

func deviceSuffix(id string) string { return id[strings.LastIndex(id, "/")+1:] }

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// exportAll runs ExportVm and downloads every device into dir, as a builder.
func exportAll(t *testing.T, vm *object.VirtualMachine, dir string) []nfc.FileItem {
	t.Helper()
	ctx := t.Context()
	lease, err := vm.Export(ctx)
	if err != nil {
		t.Fatalf("ExportVm: %v", err)
	}
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		t.Fatalf("export lease: %v", err)
	}
	upd := lease.StartUpdater(ctx, info)
	for _, item := range info.Items {
		if err := lease.DownloadFile(ctx, filepath.Join(dir, item.Path), item, soap.DefaultDownload); err != nil {
			t.Fatalf("download %s: %v", item.URL, err)
		}
	}
	upd.Done()
	if err := lease.Progress(ctx, 100); err != nil {
		t.Fatalf("progress: %v", err)
	}
	if err := lease.Progress(ctx, 101); err == nil {
		t.Fatal("progress 101% accepted")
	}
	if err := lease.Complete(ctx); err != nil {
		t.Fatalf("complete export: %v", err)
	}
	return info.Items
}

func power(t *testing.T, vm *object.VirtualMachine, on bool) {
	t.Helper()
	var task *object.Task
	var err error
	if on {
		task, err = vm.PowerOn(t.Context())
	} else {
		task, err = vm.PowerOff(t.Context())
	}
	if err == nil {
		err = task.Wait(t.Context())
	}
	if err != nil {
		t.Fatalf("power on=%v: %v", on, err)
	}
}

func waitProp(t *testing.T, vm *object.VirtualMachine, ok func(mo.VirtualMachine) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var o mo.VirtualMachine
		if err := vm.Properties(t.Context(), vm.Reference(), []string{"guest"}, &o); err != nil {
			t.Fatal(err)
		}
		if ok(o) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("guest state not reached: %+v", o.Guest)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failingReader fails after n bytes, like a cancelled upload.
type failingReader struct {
	r io.Reader
	n int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("upload interrupted by the test")
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	var left []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("files left in the datastore: %v", left)
	}
}

func insecureGet(ctx context.Context, u string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := insecureClient().Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func insecureClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // vcsim's self-signed test certificate
	return &http.Client{Transport: tr, Timeout: time.Minute}
}
