package vsphereovaqemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovftarget"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// vappGuest is the vApp part of TestPackerOVAInOVAOutBoots: the first
// build's source declares three properties (as an appliance vendor's OVA
// does, with the iso transport), the build sets them with `properties`,
// and a shell provisioner in the guest finds the OVF environment CD by its
// label, as guest code written for vSphere's iso transport does, mounts it
// read-only and prints what ovf-env.xml says. One value is ordinary, one
// has spaces and XML's special characters, and one is marked
// ovf:password="true": the guest prints only its SHA-256, and the value
// must not appear anywhere in the PACKER_LOG=1 output.
type vappGuest struct {
	hostname, motd, secret string
	script                 string // the provisioner's script, on the host
}

func newVAppGuest(t *testing.T) *vappGuest {
	t.Helper()
	b := make([]byte, 12)
	rand.Read(b)
	g := &vappGuest{
		hostname: "app-01",
		motd:     `Hello <World> & "friends" 'here'`,
		secret:   "pw-" + hex.EncodeToString(b),
	}
	g.script = filepath.Join(t.TempDir(), "ovf-env.sh")
	if err := os.WriteFile(g.script, []byte(vappScript), 0o755); err != nil {
		t.Fatal(err)
	}
	return g
}

// vappScript reads ovf-env.xml as a guest on vSphere would: the CD by
// label "OVF ENV", the file at its root, the Property elements' oe:value
// attributes un-escaped. It never fails the build, so a missing CD or value
// shows up as the test's assertion, not as a provisioner error.
const vappScript = `#!/bin/sh
dev=$(sudo blkid -L 'OVF ENV')
echo "ovfenv-dev=$dev"
sudo mkdir -p /run/ovfenv
sudo mount -o ro "$dev" /run/ovfenv || exit 0
f=/run/ovfenv/ovf-env.xml
val() {
  sudo sed -n "s/.*oe:key=\"$1\" oe:value=\"\([^\"]*\)\".*/\1/p" "$f" |
    sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&#34;/"/g' -e 's/&quot;/"/g' \
      -e "s/&#39;/'/g" -e "s/&apos;/'/g" -e 's/&amp;/\&/g'
}
echo "ovfenv-hostname=[$(val hostname)]"
echo "ovfenv-motd=[$(val motd)]"
echo "ovfenv-secret-sha256=$(val db_password | tr -d '\n' | sha256sum | cut -d' ' -f1)"
sudo umount /run/ovfenv
exit 0
`

// properties is the source block's option.
func (g *vappGuest) properties() string {
	return fmt.Sprintf("vapp {\n  properties = { hostname = %s, motd = %s, db_password = %s }\n}",
		hclString(g.hostname), hclString(g.motd), hclString(g.secret))
}

func (g *vappGuest) provisioner() string {
	return fmt.Sprintf(`
  provisioner "shell" {
    script = %s
  }
`, hclString(g.script))
}

func (g *vappGuest) check(t *testing.T, log string) {
	t.Helper()
	t.Logf("first build, OVF environment lines:\n%s", grepLines(log, "ovfenv-"))
	for _, want := range []string{
		"ovfenv-dev=/dev/sr",
		"ovfenv-hostname=[" + g.hostname + "]",
		"ovfenv-motd=[" + g.motd + "]",
		"ovfenv-secret-sha256=" + sha256Hex(g.secret),
	} {
		if !strings.Contains(log, want) {
			t.Errorf("first build: the guest's ovf-env.xml did not give %q; its lines:\n%s", want, grepLines(log, "ovfenv-"))
		}
	}
	if strings.Contains(log, g.secret) {
		t.Errorf("the password property's value appears in the packer log:\n%s", grepLines(log, g.secret))
	}
}

// propertiesOVA is base.ova with a ProductSection declaring the
// properties vappGuest sets (db_password marked ovf:password="true") and
// the iso transport, written by ovftarget (the post-processor's property
// code) and packed by ova.Pack into a temporary folder. Its disk is
// re-encoded by qemu-img (qemuImgStream), so the builder boots a disk in
// qemu-img's stream layout, as OVAs made on Linux often have.
func propertiesOVA(t *testing.T, base string) string {
	t.Helper()
	a, err := ova.OpenArchive(base)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dir := t.TempDir()
	var desc []byte
	var grown []string // old and new ovf:capacity attributes
	for _, m := range a.Members() {
		if strings.HasSuffix(m.Name, ".mf") {
			continue // ova.Pack writes a new one for the edited descriptor
		}
		rc, _, err := a.Open(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name == a.DescriptorName() {
			desc, err = io.ReadAll(rc)
		} else {
			err = copyTo(filepath.Join(dir, m.Name), rc)
		}
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(m.Name, ".vmdk") {
			grown = append(grown, qemuImgStream(t, filepath.Join(dir, m.Name))...)
		}
	}
	for i := 0; i < len(grown); i += 2 {
		if bytes.Count(desc, []byte(grown[i])) != 1 {
			t.Fatalf("base.ovf has not one %s", grown[i])
		}
		desc = bytes.Replace(desc, []byte(grown[i]), []byte(grown[i+1]), 1)
	}
	c := &ovftarget.Customization{
		Properties: []ovftarget.Property{
			{Key: "hostname", Value: "localhost", Label: "Host name"},
			{Key: "motd", Label: "Message of the day"},
			{Key: "db_password", Label: "Database password", Password: true},
		},
		PropertyTransport: []string{ovftarget.TransportISO},
	}
	if errs := c.Prepare(); len(errs) > 0 {
		t.Fatal(errs)
	}
	res, err := ovftarget.Customize(desc, ovftarget.VSphere, c)
	if err != nil {
		t.Fatal(err)
	}
	ovfPath := filepath.Join(dir, "base.ovf")
	if err := os.WriteFile(ovfPath, res.Descriptor, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "base-vapp.ova")
	if _, err := ova.Pack(context.Background(), ova.Options{OVFPath: ovfPath, Output: out, ChecksumAlgorithm: "none"}); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	return out
}

func copyTo(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// grepLines are log's lines containing s.
func grepLines(log, s string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// qemuImgStream rewrites the streamOptimized VMDK at p as `qemu-img convert
// -O vmdk -o subformat=streamOptimized` writes it (ova.Pack then writes its
// true ovf:size and digest), checks it has qemu-img's layout (the grain
// directory in front, no footer), and returns the Disk's old and new
// ovf:capacity attributes. The disk is grown by 64 MiB first (the build
// grows it further, disk_size), so that its last grain holds no data and
// the stream ends where the old decoder refused it ("stream ends here
// without an end-of-stream marker"): qemu-img ends the file after its last
// grain or after some zero sectors, depending on the data; zero sectors
// are cut off, and qemu-img compare proves the disk unchanged.
func qemuImgStream(t *testing.T, p string) []string {
	t.Helper()
	qemuImg := testenv.LookPath(t, "qemu-img")
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(qemuImg, args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	raw, q := p+".raw", p+".qemu-img"
	run("convert", "-f", "vmdk", "-O", "raw", p, raw)
	fi, err := os.Stat(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(raw, fi.Size()+64<<20); err != nil {
		t.Fatal(err)
	}
	run("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", raw, q)
	f, err := os.OpenFile(q, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	qi, _ := f.Stat()
	im, err := vmdk.Open(f, qi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if im.Header().GDOffset == ^uint64(0) {
		t.Fatalf("%s: not qemu-img's layout (grain directory at the end)", q)
	}
	end := qi.Size()
	last := make([]byte, vmdk.SectorSize)
	for ; end > vmdk.SectorSize; end -= vmdk.SectorSize {
		if _, err := f.ReadAt(last, end-vmdk.SectorSize); err != nil {
			t.Fatal(err)
		}
		if bytes.Count(last, []byte{0}) != len(last) {
			break
		}
	}
	if err := f.Truncate(end); err != nil {
		t.Fatal(err)
	}
	run("compare", "-f", "raw", "-F", "vmdk", raw, q)
	t.Logf("source disk re-encoded by qemu-img: grain directory at sector %d, %d bytes, of which %d trailing zero bytes cut: it ends after its last grain",
		im.Header().GDOffset, qi.Size(), qi.Size()-end)
	os.Remove(raw)
	if err := os.Rename(q, p); err != nil {
		t.Fatal(err)
	}
	return []string{fmt.Sprintf(`ovf:capacity="%d"`, fi.Size()), fmt.Sprintf(`ovf:capacity="%d"`, fi.Size()+64<<20)}
}
