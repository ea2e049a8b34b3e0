package vcsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
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

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
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

func TestCreateDescriptor(t *testing.T) {
	virtV2V := testenv.LookPath(t, "virt-v2v")
	ctx := t.Context()
	e := start(t, ModeVCenter)
	src := writeFixture(t, "desc", 2)
	vm, _ := e.importOVF(t, src, "desc-vm")
	out := t.TempDir()
	items := exportAll(t, vm, out)

	var files []types.OvfFile
	for _, item := range items {
		fi, err := os.Stat(filepath.Join(out, item.Path))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, types.OvfFile{DeviceId: item.DeviceId, Path: item.Path, Size: fi.Size()})
	}
	m := govovf.NewManager(e.c)
	res, err := m.CreateDescriptor(ctx, vm, types.OvfCreateDescriptorParams{OvfFiles: files, Name: "desc-out"})
	if err != nil {
		t.Fatalf("CreateDescriptor: %v", err)
	}

	// govmomi's parser: hardware from the imported fixture (2 vCPU, 1024 MB,
	// LSI Logic, 2 disks, VmxNet3 on "VM Network").
	env, err := govovf.Unmarshal(strings.NewReader(res.OvfDescriptor))
	if err != nil {
		t.Fatalf("govmomi ovf.Unmarshal: %v\n%s", err, res.OvfDescriptor)
	}
	if env.VirtualSystem == nil || env.VirtualSystem.ID != "desc-out" {
		t.Fatalf("VirtualSystem id: %+v", env.VirtualSystem)
	}
	if len(env.References) != 2 || len(env.Disk.Disks) != 2 {
		t.Fatalf("%d files / %d disks, want 2 / 2", len(env.References), len(env.Disk.Disks))
	}
	counts := map[int]int{}
	var cpus, mem uint64
	for _, item := range env.VirtualSystem.VirtualHardware[0].Item {
		counts[int(*item.ResourceType)]++
		switch *item.ResourceType {
		case 3:
			cpus = uint64(*item.VirtualQuantity)
		case 4:
			mem = uint64(*item.VirtualQuantity)
		case 10:
			if len(item.Connection) != 1 || item.Connection[0] != "VM Network" {
				t.Errorf("NIC connection %v, want VM Network", item.Connection)
			}
		}
	}
	if cpus != 2 || mem != 1024 || counts[17] != 2 || counts[6] != 1 || counts[10] != 1 {
		t.Errorf("hardware: cpus %d mem %d items by type %v", cpus, mem, counts)
	}

	// Our own parser, with its href rules, sees the same files and sizes.
	d, err := ovf.Parse([]byte(res.OvfDescriptor))
	if err != nil {
		t.Fatalf("ovf.Parse: %v", err)
	}
	for i, f := range d.Files() {
		if f.Href != files[i].Path || f.Size != files[i].Size {
			t.Errorf("file %d: %+v, want href %s size %d", i, f, files[i].Path, files[i].Size)
		}
	}

	// A wrong deviceId is refused with a message naming it.
	_, err = m.CreateDescriptor(ctx, vm, types.OvfCreateDescriptorParams{OvfFiles: []types.OvfFile{{DeviceId: "/vm-x/nope:0", Path: "x.vmdk"}}})
	if err == nil || !strings.Contains(err.Error(), "/vm-x/nope:0") {
		t.Errorf("bad deviceId: err = %v", err)
	}

	// virt-v2v accepts an OVA made from it.
	ovfPath := filepath.Join(out, "desc-out.ovf")
	if err := os.WriteFile(ovfPath, []byte(res.OvfDescriptor), 0o644); err != nil {
		t.Fatal(err)
	}
	ovaPath := filepath.Join(t.TempDir(), "desc-out.ova")
	if _, err := ova.Pack(ctx, ova.Options{OVFPath: ovfPath, Output: ovaPath, ChecksumAlgorithm: "none"}); err != nil {
		t.Fatalf("ova.Pack: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, virtV2V, "-i", "ova", ovaPath, "--print-source")
	cmd.Env = append(os.Environ(), "LIBGUESTFS_BACKEND=direct")
	outb, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("virt-v2v --print-source: %v\n%s\n--- descriptor ---\n%s", err, outb, res.OvfDescriptor)
	}
	t.Logf("virt-v2v:\n%s", outb)
	for _, want := range []string{"source name: desc-out", "nr vCPUs: 2", "memory: 1073741824", "0 [scsi]", "1 [scsi]", `"VM Network" [vmxnet3]`} {
		if !bytes.Contains(outb, []byte(want)) {
			t.Errorf("virt-v2v --print-source lacks %q", want)
		}
	}
}

func TestGuestIP(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			e := start(t, mode)
			vm, _ := e.importOVF(t, writeFixture(t, "ip", 1), "ip-vm")
			const ip = "192.0.2.10" // reported only, never contacted
			e.s.AutoGuestIP(ip)
			power(t, vm, true)
			got, err := vm.WaitForIP(ctx, true)
			if err != nil || got != ip {
				t.Fatalf("WaitForIP = %q, %v; want %s", got, err, ip)
			}
			macs, err := vm.WaitForNetIP(ctx, true)
			if err != nil || len(macs) != 1 {
				t.Fatalf("WaitForNetIP = %v, %v; want one NIC", macs, err)
			}
			for mac, ips := range macs {
				if mac == "" || len(ips) != 1 || ips[0] != ip {
					t.Fatalf("WaitForNetIP: %s -> %v", mac, ips)
				}
			}
			var o mo.VirtualMachine
			if err := vm.Properties(ctx, vm.Reference(), []string{"guest"}, &o); err != nil {
				t.Fatal(err)
			}
			if o.Guest.ToolsRunningStatus != string(types.VirtualMachineToolsRunningStatusGuestToolsRunning) {
				t.Errorf("toolsRunningStatus = %q", o.Guest.ToolsRunningStatus)
			}

			// vSphere refuses to export a running VM.
			if _, err := vm.Export(ctx); err == nil || !strings.Contains(err.Error(), "power it off") {
				t.Errorf("ExportVm of a powered-on VM: err = %v", err)
			}

			power(t, vm, false)
			waitProp(t, vm, func(o mo.VirtualMachine) bool { return o.Guest.IpAddress == "" })
			if err := e.s.SetGuestIP("ip-vm", "192.0.2.11"); err == nil {
				t.Error("SetGuestIP on a powered-off VM succeeded")
			}
			if err := e.s.SetGuestIP("nope", "192.0.2.11"); err == nil || !strings.Contains(err.Error(), "nope") {
				t.Errorf("SetGuestIP on a missing VM: %v", err)
			}

			e.s.AutoGuestIP("")
			power(t, vm, true)
			if err := e.s.SetGuestIP("ip-vm", "192.0.2.11"); err != nil {
				t.Fatal(err)
			}
			got, err = vm.WaitForIP(ctx, true)
			if err != nil || got != "192.0.2.11" {
				t.Fatalf("WaitForIP after SetGuestIP = %q, %v", got, err)
			}
		})
	}
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

func TestStartRejects(t *testing.T) {
	if _, err := Start(t.Context(), "vsan"); err == nil || !strings.Contains(err.Error(), "vsan") {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := StartOn(t.Context(), ModeESXi, "0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("non-loopback listen: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Start(ctx, ModeESXi); err == nil {
		t.Error("Start with a cancelled context succeeded")
	}
}

func insecureClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // vcsim's self-signed test certificate
	return &http.Client{Transport: tr, Timeout: time.Minute}
}
