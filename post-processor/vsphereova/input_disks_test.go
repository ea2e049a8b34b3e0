package vsphereova

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// rawDisk writes a sparse raw disk of size bytes with data at the given
// offsets, and returns how many bytes the 64 KiB grains holding data
// cover (what the OVF's populatedSize must say).
func rawDisk(t testing.TB, path string, size int64, data map[int64][]byte) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	grains := map[int64]bool{}
	for off, b := range data {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
		for g := off / 65536; g <= (off+int64(len(b))-1)/65536; g++ {
			grains[g] = true
		}
	}
	var n int64
	for g := range grains {
		n += min((g+1)*65536, size) - g*65536 // the last grain ends at the disk's end
	}
	return n
}

// randomBytes is n bytes that do not compress.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// ovaDisk reads the OVA's descriptor and its one disk member, decoded back
// to raw bytes, and checks the member is a VMware-layout stream.
func ovaDisk(t testing.TB, path string) (*ovf.Descriptor, []byte, []byte) {
	t.Helper()
	a, err := ova.OpenArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	desc, err := a.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	files := desc.Files()
	if len(files) != 1 {
		t.Fatalf("OVA references %d files, want 1", len(files))
	}
	r, size, err := a.Open(files[0].Href)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	member, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(member)) != size || files[0].Size != size {
		t.Errorf("%s: ovf:size %d, member %d bytes, read %d", files[0].Href, files[0].Size, size, len(member))
	}
	if _, err := vmdk.CheckStreamLayout(bytes.NewReader(member), size); err != nil {
		t.Errorf("%s is not in VMware's stream layout: %v", files[0].Href, err)
	}
	sr, err := vmdk.NewStreamReader(bytes.NewReader(member))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(sr)
	if err != nil {
		t.Fatal(err)
	}
	return desc, member, raw
}

// diskAttrs returns the DiskSection's Disk attributes by local name.
func diskAttrs(t testing.TB, path string) map[string]string {
	t.Helper()
	a, err := ova.OpenArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r, _, err := a.Open(a.DescriptorName())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	data, _ := io.ReadAll(r)
	s := string(data)
	i := strings.Index(s, "<Disk ")
	if i < 0 {
		t.Fatalf("no <Disk> in the descriptor:\n%s", s)
	}
	s = s[i : strings.Index(s[i:], ">")+i]
	attrs := map[string]string{}
	for _, f := range strings.Fields(s)[1:] {
		k, v, _ := strings.Cut(strings.TrimSuffix(f, "/"), "=")
		attrs[strings.TrimPrefix(k, "ovf:")] = strings.Trim(v, `"`)
	}
	return attrs
}

func names(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

// A raw disk (the qemu builder's default format, or any artifice file):
// converted, described from the vm block, packed; the work folder is gone.
func TestDiskArtifactRaw(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "web")
	const size = 9<<20 + 4096 // not a multiple of the grain
	populated := rawDisk(t, disk, size, map[int64][]byte{
		0:         randomBytes(70000),
		4 << 20:   bytes.Repeat([]byte("compressible text "), 20000),
		size - 10: []byte("last bytes"),
	})
	art, out := mustPack(t, []string{disk}, map[string]interface{}{
		"vm": map[string]interface{}{"CPUs": 4, "RAM": 4096, "firmware": "efi", "disk_controller_type": []interface{}{"nvme"},
			"network_adapters": []map[string]interface{}{{"network": "LAN", "network_card": "e1000e"}}},
	})
	if want := filepath.Join(dir, "web.ova"); art.Path != want {
		t.Errorf("OVA at %s, want %s (beside the disk, named after the VM)", art.Path, want)
	}
	desc, member, raw := ovaDisk(t, art.Path)
	want, _ := os.ReadFile(disk)
	if !bytes.Equal(raw[:size], want) || len(raw) != size {
		t.Errorf("the OVA's disk does not read back as the raw disk (%d bytes, want %d)", len(raw), size)
	}
	attrs := diskAttrs(t, art.Path)
	if attrs["capacity"] != strconv.Itoa(size) || attrs["capacityAllocationUnits"] != "byte" {
		t.Errorf("Disk capacity %q %q, want %d byte", attrs["capacity"], attrs["capacityAllocationUnits"], size)
	}
	if attrs["populatedSize"] != strconv.FormatInt(populated, 10) {
		t.Errorf("Disk populatedSize %q, want the %d bytes of grains holding data", attrs["populatedSize"], populated)
	}
	if desc.Files()[0].Size != int64(len(member)) || desc.Files()[0].Href != "web-disk-0.vmdk" {
		t.Errorf("References: %+v; want web-disk-0.vmdk of %d bytes", desc.Files()[0], len(member))
	}
	if strings.Contains(out, "declared ovf:size") {
		t.Errorf("the generated OVF's ovf:size was wrong and had to be corrected:\n%s", out)
	}
	// The digests taken while converting spare the packer a second read.
	for _, w := range []string{`Converting ` + disk, `"web": 4 vCPUs`, "4096 MiB", "EFI", "e1000e on \"LAN\"",
		"Used and verified the digests of the export's own manifest"} {
		if !strings.Contains(out, w) {
			t.Errorf("UI lacks %q:\n%s", w, out)
		}
	}
	if got := names(dir); strings.Join(got, " ") != "web web.ova web.ova.sha256" {
		t.Errorf("folder holds %v; want the disk, the OVA and its checksum (no work folder)", got)
	}
}

// A streamOptimized VMDK in VMware's layout goes into the OVA byte for
// byte; qemu-img's own streamOptimized layout is re-encoded.
func TestDiskArtifactStreamPassthrough(t *testing.T) {
	dir := t.TempDir()
	raw := filepath.Join(t.TempDir(), "raw")
	rawDisk(t, raw, 4<<20, map[int64][]byte{65536: randomBytes(100000)})
	src, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	disk := filepath.Join(dir, "app.vmdk")
	f, err := os.Create(disk)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vmdk.Write(context.Background(), f, src, 4<<20, vmdk.Options{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	art, out := mustPack(t, []string{disk}, map[string]interface{}{})
	_, member, _ := ovaDisk(t, art.Path)
	orig, _ := os.ReadFile(disk)
	if !bytes.Equal(member, orig) {
		t.Errorf("a VMware-layout stream VMDK was changed on its way into the OVA")
	}
	if !strings.Contains(out, "packed as it is") || strings.Contains(out, "Converting") {
		t.Errorf("UI does not say the disk was passed through:\n%s", out)
	}

	qemuImg := testenv.LookPath(t, "qemu-img")
	qdir := t.TempDir()
	qdisk := filepath.Join(qdir, "q.vmdk")
	mustRun(t, qdir, qemuImg, "convert", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, qdisk)
	art, out = mustPack(t, []string{qdisk}, map[string]interface{}{})
	_, member, got := ovaDisk(t, art.Path)
	qorig, _ := os.ReadFile(qdisk)
	if bytes.Equal(member, qorig) || !strings.Contains(out, "not in VMware's layout") {
		t.Errorf("qemu-img's stream layout was not re-encoded:\n%s", out)
	}
	want, _ := os.ReadFile(raw)
	if !bytes.Equal(got, want) {
		t.Errorf("re-encoded disk differs from the data")
	}
}

// convertCancelUi cancels the build when the conversion starts writing,
// as Ctrl-C does (Packer cancels the post-processor's context).
type convertCancelUi struct {
	*recUi
	cancel context.CancelFunc
	saw    bool
}

func (u *convertCancelUi) Say(msg string) {
	u.recUi.Say(msg)
	if strings.HasPrefix(msg, "Converting ") {
		u.saw = true
		go u.cancel()
	}
}

// Cancelled while converting: no OVA, no checksum, no work folder.
func TestDiskArtifactCancelledLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "big.raw")
	rawDisk(t, disk, 96<<20, map[int64][]byte{0: randomBytes(96 << 20)})
	var p PostProcessor
	if err := p.Configure(map[string]interface{}{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ui := &convertCancelUi{recUi: newRecUi(), cancel: cancel}
	_, _, _, err := p.PostProcess(ctx, ui, &packersdk.MockArtifact{FilesValue: []string{disk}})
	if !ui.saw {
		t.Fatalf("the conversion never started; the test proves nothing:\n%s", ui.String())
	}
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), disk) {
		t.Errorf("cancelled conversion: err = %v; want context.Canceled naming the disk", err)
	}
	if got := names(dir); strings.Join(got, " ") != "big.raw" {
		t.Errorf("cancelled conversion left %v", got)
	}
	if left, _ := atomicfile.Leftovers(dir); len(left) != 0 {
		t.Errorf("leftovers: %v", left)
	}
}

// An existing output fails the build before any disk is converted.
func TestDiskArtifactExistingOutput(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "d.img")
	rawDisk(t, disk, 1<<20, map[int64][]byte{0: []byte("boot")})
	if err := os.WriteFile(filepath.Join(dir, "d.ova"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, err := pack(context.Background(), t, []string{disk}, map[string]interface{}{})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("err = %v, want the output exists", err)
	}
	if strings.Contains(out, "Converting") {
		t.Errorf("converted before refusing the existing output:\n%s", out)
	}
	if got := names(dir); strings.Join(got, " ") != "d.img d.ova" {
		t.Errorf("folder holds %v", got)
	}
}

// The vm block is checked by Configure, naming the option.
func TestConfigureChecksVMBlock(t *testing.T) {
	var p PostProcessor
	err := p.Configure(map[string]interface{}{"vm": map[string]interface{}{"RAM": 1001, "disk_controller_type": []interface{}{"ide"}}})
	if err == nil || !strings.Contains(err.Error(), "vm.RAM") || !strings.Contains(err.Error(), "vm.disk_controller_type") {
		t.Errorf("Configure = %v; want errors naming vm.RAM and vm.disk_controller_type", err)
	}
}

// An artifact with an .ovf ignores the vm block and says so.
func TestVMBlockIgnoredForExports(t *testing.T) {
	dir := t.TempDir()
	ovfPath := filepath.Join(dir, "x.ovf")
	if err := os.WriteFile(ovfPath, []byte("not read"), 0o644); err != nil {
		t.Fatal(err)
	}
	var p PostProcessor
	if err := p.Configure(map[string]interface{}{"vm": map[string]interface{}{"CPUs": 2}}); err != nil {
		t.Fatal(err)
	}
	ui := newRecUi()
	in, err := p.selectInput(context.Background(), ui, &packersdk.MockArtifact{FilesValue: []string{ovfPath}})
	if err != nil || in.ovfPath != ovfPath || in.work != "" {
		t.Fatalf("selectInput = %+v, %v", in, err)
	}
	if !strings.Contains(ui.String(), "the vm block is ignored") {
		t.Errorf("no warning about the ignored vm block:\n%s", ui.String())
	}
}

// progressUi records the progress bars opened through TrackProgress.
type progressUi struct {
	*recUi
	mu   sync.Mutex
	bars []string
}

func (u *progressUi) TrackProgress(src string, cur, total int64, stream io.ReadCloser) io.ReadCloser {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.bars = append(u.bars, fmt.Sprintf("%s %d/%d", src, cur, total))
	return stream
}

// The conversion shows its progress per disk through TrackProgress, ending
// at the disk's size, without one call per read.
func TestDiskArtifactProgress(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "p.img")
	rawDisk(t, disk, 8<<20, map[int64][]byte{0: randomBytes(4 << 20)})
	var p PostProcessor
	if err := p.Configure(map[string]interface{}{}); err != nil {
		t.Fatal(err)
	}
	ui := &progressUi{recUi: newRecUi()}
	if _, _, _, err := p.PostProcess(context.Background(), ui, &packersdk.MockArtifact{FilesValue: []string{disk}}); err != nil {
		t.Fatal(err)
	}
	var conv []string
	for _, b := range ui.bars {
		if strings.HasPrefix(b, "Converting ") {
			conv = append(conv, b)
		}
	}
	if len(conv) == 0 || len(conv) > 21 || conv[len(conv)-1] != fmt.Sprintf("Converting p.img %d/%d", 8<<20, 8<<20) {
		t.Errorf("conversion progress bars %q; want a few, the last at the disk's size", conv)
	}
}

// A vm block that cannot describe the artifact (16 disks on an NVMe
// controller, which takes 15) fails before any disk is converted, naming
// the option.
func TestDiskArtifactBadVMFailsFirst(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := 0; i < 16; i++ {
		disk := filepath.Join(dir, fmt.Sprintf("d-%d.img", i))
		rawDisk(t, disk, 1<<20, map[int64][]byte{0: []byte("boot")})
		files = append(files, disk)
	}
	_, out, err := pack(context.Background(), t, files, map[string]interface{}{
		"vm": map[string]interface{}{"disk_controller_type": []interface{}{"nvme"}},
	})
	if err == nil || !strings.Contains(err.Error(), "vm.disk_controller_type") {
		t.Fatalf("err = %v; want vm.disk_controller_type named", err)
	}
	if strings.Contains(out, "Converting") {
		t.Errorf("converted before refusing the vm block:\n%s", out)
	}
	if left, _ := atomicfile.Leftovers(dir); len(left) != 0 || len(names(dir)) != 16 {
		t.Errorf("folder holds %v", names(dir))
	}
}

// A disk artifact goes through the same per-target stage as an export: its
// generated OVF gets the descriptor options and each target's rules, one OVA
// per target from one conversion, and the work folder is gone afterwards.
func TestDiskArtifactTargets(t *testing.T) {
	dir := t.TempDir()
	disk := filepath.Join(dir, "app")
	rawDisk(t, disk, 4<<20, map[int64][]byte{0: randomBytes(5000)})
	art, out := mustPack(t, []string{disk}, map[string]interface{}{
		"vm":      map[string]interface{}{"firmware": "efi"},
		"target":  []string{"vsphere", "virtualbox"},
		"product": map[string]interface{}{"name": "Disk Appliance", "version": "1.2"},
	})
	if len(art.OVAs) != 2 || art.OVAs[1].Path != filepath.Join(dir, "app-virtualbox.ova") {
		t.Fatalf("OVAs %+v, want app.ova and app-virtualbox.ova", art.OVAs)
	}
	for _, o := range art.OVAs {
		a, err := ova.OpenArchive(o.Path)
		if err != nil {
			t.Fatal(err)
		}
		desc, err := a.Descriptor()
		a.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(desc.Bytes()), "<Product>Disk Appliance</Product>") {
			t.Errorf("%s (%s): the generated OVF did not get the product section", o.Path, o.Target)
		}
	}
	if !strings.Contains(out, "Warning: virtualbox") || !strings.Contains(strings.ToLower(out), "efi") {
		t.Errorf("no EFI warning for the virtualbox target:\n%s", out)
	}
	if got := strings.Join(names(dir), " "); got != "app app-virtualbox.ova app-virtualbox.ova.sha256 app.ova app.ova.sha256" {
		t.Errorf("folder holds %s; want the disk and two OVAs with checksums (no work folder)", got)
	}
}

// TestWrongInputSizeCorrected: an export whose OVF declares a wrong
// ovf:size comes out of the post-processor with the member's true size, and
// the user is told both sizes.
func TestWrongInputSizeCorrected(t *testing.T) {
	ovfPath, files := export(t, fixture.ExportOptions{Name: "sized"})
	desc, err := os.ReadFile(ovfPath)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`ovf:size="\d+"`)
	if len(re.FindAll(desc, -1)) != 1 {
		t.Fatalf("fixture OVF has not one ovf:size:\n%s", desc)
	}
	if err := os.WriteFile(ovfPath, re.ReplaceAll(desc, []byte(`ovf:size="4096"`)), 0o644); err != nil {
		t.Fatal(err)
	}
	art, out := mustPack(t, files, map[string]interface{}{})
	a, err := ova.OpenArchive(art.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	d, err := a.Descriptor()
	if err != nil {
		t.Fatal(err)
	}
	f := d.Files()[0]
	_, size, err := a.Open(f.Href)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size != size || size == 4096 {
		t.Errorf("ovf:size %d in the OVA, member %s has %d bytes", f.Size, f.Href, size)
	}
	want := fmt.Sprintf(`Warning: sized-disk-0.vmdk is %d bytes but the OVF declared ovf:size="4096"`, size)
	if !strings.Contains(out, want) {
		t.Errorf("UI output lacks %q:\n%s", want, out)
	}
}
