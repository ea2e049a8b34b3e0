package vsphereova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/simulator"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

func testUI(out *testenv.SyncBuffer) packersdk.Ui {
	return &packersdk.BasicUi{Reader: strings.NewReader(""), Writer: out, ErrorWriter: out, PB: &packersdk.NoopProgressTracker{}}
}

// makeOVA writes a vSphere-export-like folder with real qemu-img disks and
// packs it with our own OVA writer.
func makeOVA(t *testing.T, name string, disks int) string {
	t.Helper()
	return makeOVAWith(t, fixture.ExportOptions{Name: name, Disks: disks, DiskMiB: 64, DataMiB: 1, WithManifest: true})
}

// makeOVAData makes a one-disk OVA with dataMiB of incompressible data.
func makeOVAData(t *testing.T, name string, dataMiB int) string {
	t.Helper()
	return makeOVAWith(t, fixture.ExportOptions{Name: name, Disks: 1, DiskMiB: 64, DataMiB: dataMiB, WithManifest: true})
}

func makeOVAWith(t *testing.T, o fixture.ExportOptions) string {
	t.Helper()
	name := o.Name
	qemu := testenv.LookPath(t, "qemu-img")
	dir := t.TempDir()
	o.QemuImg = qemu
	ovfPath, err := fixture.WriteExport(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), name+".ova")
	if _, err := ova.Pack(context.Background(), ova.Options{OVFPath: ovfPath, Output: out}); err != nil {
		t.Fatal(err)
	}
	return out
}

func startSim(t *testing.T, mode string) *vcsim.Server {
	t.Helper()
	srv, err := vcsim.Start(context.Background(), mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func baseConfig(srv *vcsim.Server, source string) map[string]interface{} {
	raw := map[string]interface{}{
		"vcenter_server":      srv.Host,
		"username":            srv.Username,
		"password":            srv.Password,
		"insecure_connection": true,
		"source_path":         source,
		"communicator":        "none",
		"ip_wait_timeout":     "1m",
		"ip_settle_timeout":   "100ms",
		"shutdown_timeout":    "1m",
		"packer_build_name":   "test",
	}
	if srv.Mode() == vcsim.ModeVCenter {
		raw["cluster"] = "DC0_C0"
	}
	return raw
}

func runBuild(t *testing.T, ctx context.Context, raw map[string]interface{}) (packersdk.Artifact, string, error) {
	t.Helper()
	var b Builder
	if _, _, err := b.Prepare(raw); err != nil {
		return nil, "", err
	}
	out := &testenv.SyncBuffer{}
	a, err := b.Run(ctx, testUI(out), &packersdk.MockHook{})
	t.Logf("builder output:\n%s", out.String())
	return a, out.String(), err
}

func TestBuildImportExport(t *testing.T) {
	for _, mode := range []string{vcsim.ModeVCenter, vcsim.ModeESXi} {
		t.Run(mode, func(t *testing.T) {
			src := makeOVA(t, "base", 2)
			srv := startSim(t, mode)
			srv.AutoGuestIP("10.20.30.40")
			outDir := filepath.Join(t.TempDir(), "export")
			raw := baseConfig(srv, src)
			raw["vm_name"] = "built-" + mode
			raw["CPUs"] = 3
			raw["RAM"] = 1536
			raw["disk_sizes"] = []int64{128}
			raw["configuration_parameters"] = map[string]string{"guestinfo.test": "yes"}
			raw["export"] = map[string]interface{}{"output_directory": outDir, "name": "appliance"}
			if mode == vcsim.ModeVCenter {
				raw["datacenter"] = "DC0"
				raw["cluster"] = "DC0_C0"
				raw["datastore"] = "LocalDS_0"
				raw["network_mapping"] = []map[string]interface{}{{"name": "VM Network", "network": "DC0_DVPG0"}}
			}
			a, out, err := runBuild(t, context.Background(), raw)
			if err != nil {
				t.Fatalf("build failed: %v", err)
			}
			if !strings.Contains(out, "IP address: 10.20.30.40") {
				t.Errorf("the IP from VMware Tools was not reported")
			}
			if a.BuilderId() != BuilderId {
				t.Errorf("BuilderId = %q", a.BuilderId())
			}
			files := a.Files()
			var names []string
			for _, f := range files {
				names = append(names, filepath.Base(f))
			}
			want := []string{"appliance.mf", "appliance.ovf", "appliance-disk-0.vmdk", "appliance-disk-1.vmdk"}
			for _, w := range want {
				if !contains(names, w) {
					t.Errorf("artifact files %v lack %s", names, w)
				}
			}
			if len(files) != 4 {
				t.Errorf("artifact files = %v, want ovf, mf and 2 disks", names)
			}
			// The manifest must match the files on disk.
			data, err := os.ReadFile(filepath.Join(outDir, "appliance.mf"))
			if err != nil {
				t.Fatal(err)
			}
			mf, err := ovf.ParseManifest(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(mf.Entries) != 3 {
				t.Errorf("manifest has %d entries, want 3:\n%s", len(mf.Entries), data)
			}
			for _, e := range mf.Entries {
				b, err := os.ReadFile(filepath.Join(outDir, e.Name))
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(b)
				if e.Algorithm != "sha256" || e.Digest != hex.EncodeToString(sum[:]) {
					t.Errorf("manifest entry %+v does not match the file", e)
				}
			}
			desc, err := os.ReadFile(filepath.Join(outDir, "appliance.ovf"))
			if err != nil {
				t.Fatal(err)
			}
			d, err := ovf.Parse(desc)
			if err != nil {
				t.Fatalf("exported descriptor does not parse: %v", err)
			}
			if len(d.Files()) != 2 {
				t.Errorf("exported descriptor references %d files, want 2", len(d.Files()))
			}
			// Hardware changes reached the VM (the descriptor is made from it).
			for _, s := range []string{">3<", ">1536<", `ovf:capacity="134217728"`, `ovf:capacity="67108864"`} {
				if !bytes.Contains(desc, []byte(s)) {
					t.Errorf("descriptor lacks %s (CPUs/RAM/disk reconfiguration lost)", s)
				}
			}
			ents, _ := os.ReadDir(outDir)
			if len(ents) != 4 {
				t.Errorf("output_directory holds %d entries, want exactly the 4 artifact files", len(ents))
			}
			if vms := srv.VMNames(); len(vms) != 0 {
				t.Errorf("VMs left in the inventory: %v", vms)
			}
		})
	}
}

// writeTar writes a tar archive with the given members (in order).
func writeTar(t *testing.T, p string, members map[string][]byte, order []string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range order {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(members[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(members[n])
	}
	tw.Close()
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Every one of these must fail before anything is created in vSphere.
func TestErrorsBeforeCreate(t *testing.T) {
	srv := startSim(t, vcsim.ModeVCenter)
	srv.AutoGuestIP("10.0.0.9")
	good := makeOVA(t, "good", 1)
	ar, err := ova.OpenArchive(good)
	if err != nil {
		t.Fatal(err)
	}
	descName := ar.DescriptorName()
	d, err := ar.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	descBytes := d.Bytes()
	ar.Close()

	dir := t.TempDir()
	noOVF := filepath.Join(dir, "no-ovf.ova")
	writeTar(t, noOVF, map[string][]byte{"disk.vmdk": []byte("x")}, []string{"disk.vmdk"})
	missingDisk := filepath.Join(dir, "missing-disk.ova")
	writeTar(t, missingDisk, map[string][]byte{descName: descBytes}, []string{descName})

	cases := []struct {
		name string
		edit func(raw map[string]interface{})
		want []string
	}{
		{"ova without ovf", func(r map[string]interface{}) { r["source_path"] = noOVF }, []string{"no .ovf descriptor", "disk.vmdk", "no-ovf.ova"}},
		{"missing disk", func(r map[string]interface{}) { r["source_path"] = missingDisk }, []string{"references", "good-disk-0.vmdk", "no member"}},
		{"checksum mismatch", func(r map[string]interface{}) { r["source_checksum"] = "sha256:" + strings.Repeat("0", 64) }, []string{"source_checksum mismatch", "computed sha256:"}},
		{"unknown network", func(r map[string]interface{}) {
			r["network_mapping"] = []map[string]interface{}{{"name": "VM Network", "network": "no-such-net"}}
		}, []string{`network "no-such-net"`, "not found", "DC0_DVPG0"}},
		{"unknown ovf network", func(r map[string]interface{}) {
			r["network_mapping"] = []map[string]interface{}{{"name": "Bogus", "network": "VM Network"}}
		}, []string{`declares no network "Bogus"`, "VM Network"}},
		{"unknown datastore", func(r map[string]interface{}) { r["datastore"] = "nope" }, []string{`datastore "nope" not found`, "LocalDS_0"}},
		{"unknown datacenter", func(r map[string]interface{}) { r["datacenter"] = "DCX" }, []string{`datacenter "DCX" not found`, "DC0"}},
		{"unknown cluster", func(r map[string]interface{}) { r["cluster"] = "CX" }, []string{`cluster "CX" not found`, "DC0_C0"}},
		{"ambiguous placement", func(r map[string]interface{}) { delete(r, "cluster") }, []string{"set cluster, host or resource_pool", "DC0_C0", "DC0_H0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := baseConfig(srv, good)
			c.edit(raw)
			_, _, err := runBuild(t, context.Background(), raw)
			if err == nil {
				t.Fatal("build succeeded, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), srv.Password) && srv.Password != "" {
				t.Errorf("error leaks the password")
			}
			if vms := srv.VMNames(); len(vms) != 0 {
				t.Errorf("VMs created before the error: %v", vms)
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	var b Builder
	_, _, err := b.Prepare(map[string]interface{}{
		"source_path":       "/nonexistent/x.ova",
		"disk_provisioning": "fat",
		"source_checksum":   "crc:1",
		"communicator":      "none",
		"ip_wait_address":   "10.0.0.0/99",
	})
	if err == nil {
		t.Fatal("Prepare accepted an invalid config")
	}
	for _, w := range []string{"vcenter_server is required", "username is required", "password is required",
		"source_path", "disk_provisioning \"fat\"", "source_checksum \"crc:1\"", "ip_wait_address"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

// The manifest inside the OVA is verified while streaming: a corrupted disk
// fails the upload and the half-imported VM is removed.
func TestCorruptDiskFailsUpload(t *testing.T) {
	src := makeOVA(t, "bad", 1)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	ar, err := ova.OpenArchive(src)
	if err != nil {
		t.Fatal(err)
	}
	var off int64 = -1
	for _, m := range ar.Members() {
		if strings.HasSuffix(m.Name, ".vmdk") {
			off = m.Offset + m.Size - 1
		}
	}
	ar.Close()
	if off < 0 {
		t.Fatal("no disk in the fixture OVA")
	}
	data[off] ^= 0xff // flip the disk's last byte, keep the tar valid
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startSim(t, vcsim.ModeESXi)
	srv.AutoGuestIP("10.0.0.9")
	_, _, err = runBuild(t, context.Background(), baseConfig(srv, src))
	if err == nil || !strings.Contains(err.Error(), "does not match the OVA's manifest") {
		t.Fatalf("err = %v, want a manifest digest mismatch", err)
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
}

// Cancelling the context mid-way leaves no VM and no export files.
func TestCancelCleansUp(t *testing.T) {
	src := makeOVA(t, "cancel", 1)
	srv := startSim(t, vcsim.ModeVCenter)
	// No guest IP is ever reported, so the build sits in the IP wait until cancelled.
	outDir := filepath.Join(t.TempDir(), "out")
	raw := baseConfig(srv, src)
	raw["export"] = map[string]interface{}{"output_directory": outDir}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			if len(srv.VMNames()) > 0 {
				time.Sleep(500 * time.Millisecond)
				cancel()
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	_, _, err := runBuild(t, ctx, raw)
	if err == nil {
		t.Fatal("cancelled build succeeded")
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("output_directory exists after a cancelled build (err=%v)", err)
	}
}

// An OVF folder source and an http URL source (downloaded to a temporary
// file, removed afterwards); keep_vm keeps the VM.
func TestOVFAndURLSourcesKeepVM(t *testing.T) {
	qemu := testenv.LookPath(t, "qemu-img")
	dir := t.TempDir()
	ovfPath, err := fixture.WriteExport(dir, fixture.ExportOptions{Name: "folder", WithManifest: true, QemuImg: qemu})
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
	raw = baseConfig(srv, hs.URL+"/web.ova")
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

// convert_to_template keeps the VM as a template (vCenter only).
func TestConvertToTemplate(t *testing.T) {
	src := makeOVA(t, "tpl", 1)
	srv := startSim(t, vcsim.ModeVCenter)
	srv.AutoGuestIP("10.0.0.8")
	raw := baseConfig(srv, src)
	raw["vm_name"] = "golden"
	raw["convert_to_template"] = true
	// The simulator's OVF manager copies the property mapping into extraConfig,
	// which shows that properties reach CreateImportSpec.
	raw["properties"] = map[string]string{"appliance.hostname": "golden-1"}
	raw["configuration_parameters"] = map[string]string{"guestinfo.role": "template"}
	a, _, err := runBuild(t, context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a.String(), `VM "golden" kept`) {
		t.Errorf("artifact = %q", a.String())
	}
	vm := srv.Model.Map().Any("VirtualMachine")
	if vms := srv.VMNames(); len(vms) != 1 || vms[0] != "golden" || vm == nil {
		t.Fatalf("inventory = %v, want [golden]", vms)
	}
	o := vm.(*simulator.VirtualMachine)
	if o.Config == nil || !o.Config.Template {
		t.Fatalf("golden is not a template")
	}
	extra := map[string]string{}
	for _, ov := range o.Config.ExtraConfig {
		if v, ok := ov.GetOptionValue().Value.(string); ok {
			extra[ov.GetOptionValue().Key] = v
		}
	}
	if extra["appliance.hostname"] != "golden-1" || extra["guestinfo.role"] != "template" {
		t.Errorf("extraConfig lacks the OVF property or configuration_parameters: %v", extra)
	}
}

func TestSkipExportItem(t *testing.T) {
	for _, c := range []struct {
		images, nvram bool
		path          string
		skip          bool
	}{
		{false, false, "disk-0.vmdk", false},
		{false, false, "disk-1.iso", true},
		{true, false, "disk-1.iso", false},
		{false, false, "vm.nvram", true},
		{false, true, "vm.NVRAM", false},
		{true, true, "floppy.flp", false},
	} {
		e := &ExportConfig{Images: c.images, NVRAM: c.nvram}
		if got := skipExportItem(e, c.path); got != c.skip {
			t.Errorf("skipExportItem(images=%v, nvram=%v, %q) = %v, want %v", c.images, c.nvram, c.path, got, c.skip)
		}
	}
}

func TestPickIP(t *testing.T) {
	_, n, _ := net.ParseCIDR("192.168.0.0/16")
	addrs := []string{"fe80::1", "2001:db8::5", "169.254.1.1", "10.0.0.5", "192.168.7.9"}
	if got := pickIP(addrs, nil); got != "10.0.0.5" {
		t.Errorf("no filter: %q, want the first routable IPv4", got)
	}
	if got := pickIP(addrs, n); got != "192.168.7.9" {
		t.Errorf("ip_wait_address 192.168.0.0/16: %q", got)
	}
	if got := pickIP([]string{"fe80::1", "2001:db8::5"}, nil); got != "2001:db8::5" {
		t.Errorf("IPv6 only: %q", got)
	}
	_, n6, _ := net.ParseCIDR("172.16.0.0/12")
	if got := pickIP(addrs, n6); got != "" {
		t.Errorf("no match: %q, want none", got)
	}
}

func TestResolveChecksumFile(t *testing.T) {
	dir := t.TempDir()
	sums := filepath.Join(dir, "SHA256SUMS")
	d := strings.Repeat("ab", 32)
	if err := os.WriteFile(sums, []byte("0123  other.ova\n"+d+" *base.ova\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	alg, got, err := resolveChecksum("file:"+sums, "https://example.com/x/base.ova?sig=1")
	if err != nil || alg != "sha256" || got != d {
		t.Errorf("resolveChecksum = %q, %q, %v", alg, got, err)
	}
	if _, _, err := resolveChecksum("file:"+sums, "/tmp/missing.ova"); err == nil || !strings.Contains(err.Error(), `no digest for "missing.ova"`) {
		t.Errorf("missing entry: err = %v", err)
	}
	alg, got, err = resolveChecksum("SHA512:"+strings.Repeat("C", 128), "x.ova")
	if err != nil || alg != "sha512" || got != strings.Repeat("c", 128) {
		t.Errorf("SHA512:<HEX> = %q, %q, %v", alg, got, err)
	}
}

// A failure after the VM exists (no IP within ip_wait_timeout) destroys it,
// unless Packer runs with -on-error=abort, which must leave it for inspection.
func TestOnErrorAbortKeepsVM(t *testing.T) {
	src := makeOVA(t, "abort", 1)
	for _, c := range []struct {
		onError string
		left    int
	}{{"cleanup", 0}, {"abort", 1}} {
		t.Run(c.onError, func(t *testing.T) {
			srv := startSim(t, vcsim.ModeESXi) // no AutoGuestIP: the IP wait times out
			raw := baseConfig(srv, src)
			raw["ip_wait_timeout"] = "2s"
			raw["packer_on_error"] = c.onError
			_, _, err := runBuild(t, context.Background(), raw)
			if err == nil || !strings.Contains(err.Error(), "no IP address after ip_wait_timeout") {
				t.Fatalf("err = %v, want an IP wait timeout", err)
			}
			if vms := srv.VMNames(); len(vms) != c.left {
				t.Errorf("-on-error=%s: inventory = %v, want %d VMs", c.onError, vms, c.left)
			}
		})
	}
}
