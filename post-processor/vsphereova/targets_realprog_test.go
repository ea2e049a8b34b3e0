package vsphereova

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/ovftest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// member returns one member of an OVA, read with ova.OpenArchive (which
// checks it against the OVA's manifest).
func member(t *testing.T, ovaPath, name string) []byte {
	t.Helper()
	a, err := ova.OpenArchive(ovaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for _, m := range a.Members() {
		if m.Name != name {
			continue
		}
		rc, _, err := a.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var b bytes.Buffer
		if _, err := b.ReadFrom(rc); err != nil {
			t.Fatalf("%s in %s: %v", name, ovaPath, err)
		}
		return b.Bytes()
	}
	t.Fatalf("%s has no member %s", ovaPath, name)
	return nil
}

// The descriptor of the default target with no options is the export's,
// byte for byte, in the OVA.
func TestVSphereTargetWithoutOptionsKeepsTheDescriptor(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "packs a qemu-img export")
	const name = "plain-vm"
	ovfPath, files := export(t, fixture.ExportOptions{Name: name, DiskMiB: 8, WithManifest: true})
	want, err := os.ReadFile(ovfPath)
	if err != nil {
		t.Fatal(err)
	}
	art, _ := mustPack(t, files, map[string]interface{}{"target": []interface{}{"vsphere"}})
	if got := member(t, art.Path, name+".ovf"); !bytes.Equal(got, want) {
		t.Errorf("the OVA's descriptor differs from the export's:\n%s\n---\n%s", got, want)
	}
}

// signing {} writes a .cert member after the .mf in every target's OVA,
// and openssl verifies the .mf's signature with the certificate (made by
// openssl too); a changed .mf does not verify, so the check can fail.
func TestSignedOVAVerifiesWithOpenSSL(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "runs openssl and tar")
	openssl := testenv.LookPath(t, "openssl")
	tarBin := testenv.LookPath(t, "tar")
	keys := t.TempDir()
	key, cert := filepath.Join(keys, "key.pem"), filepath.Join(keys, "cert.pem")
	mustRun(t, keys, openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
		"-subj", "/CN=ovakit test signer", "-days", "1")

	const name = "signed-vm"
	_, files := export(t, fixture.ExportOptions{Name: name, DiskMiB: 8, WithManifest: true})
	art, uiOut := mustPack(t, files, map[string]interface{}{
		"target":  []interface{}{"vsphere", "workstation"},
		"signing": map[string]interface{}{"private_key_file": key, "certificate_file": cert},
	})
	if len(art.OVAs) != 2 {
		t.Fatalf("artifact has %d OVAs, want 2", len(art.OVAs))
	}
	if strings.Contains(uiOut, "PRIVATE KEY") {
		t.Error("the private key reached the build output")
	}
	for _, o := range art.OVAs {
		dir := t.TempDir()
		list := strings.Fields(mustRun(t, dir, tarBin, "-tf", o.Path))
		want := []string{name + ".ovf", name + ".mf", name + ".cert", fixture.DiskName(name, 0)}
		if strings.Join(list, " ") != strings.Join(want, " ") {
			t.Errorf("%s: members %q, want %q", o.Target, list, want)
		}
		mustRun(t, dir, tarBin, "-xf", o.Path, name+".mf", name+".cert")
		certFile, err := os.ReadFile(filepath.Join(dir, name+".cert"))
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(certFile), "\n")
		hexSig, ok := strings.CutPrefix(first, "SHA256("+name+".mf)= ")
		if !ok {
			t.Fatalf("%s: .cert starts %q, want SHA256(%s.mf)= ...", o.Target, first, name)
		}
		sig, err := hex.DecodeString(hexSig)
		if err != nil {
			t.Fatal(err)
		}
		writeTestFile(t, filepath.Join(dir, "sig.bin"), sig)
		pub := mustRun(t, dir, openssl, "x509", "-pubkey", "-noout", "-in", name+".cert")
		writeTestFile(t, filepath.Join(dir, "pub.pem"), []byte(pub))
		verify := func() (string, error) {
			return run(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.bin", name+".mf")
		}
		if out, err := verify(); err != nil || !strings.Contains(out, "Verified OK") {
			t.Errorf("%s: openssl dgst -verify: %v\n%s", o.Target, err, out)
		}
		mf, _ := os.ReadFile(filepath.Join(dir, name+".mf"))
		writeTestFile(t, filepath.Join(dir, name+".mf"), append(mf, '\n'))
		if out, err := verify(); err == nil {
			t.Errorf("%s: openssl verified a changed .mf:\n%s", o.Target, out)
		}
	}
}

// A key that does not belong to the certificate fails before any disk is
// read, naming both files, and writes nothing.
func TestSigningKeyCertificateMismatch(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "runs openssl")
	openssl := testenv.LookPath(t, "openssl")
	keys := t.TempDir()
	for _, n := range []string{"a", "b"} {
		mustRun(t, keys, openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", n+".key", "-out", n+".crt",
			"-subj", "/CN="+n, "-days", "1")
	}
	ovfPath, files := export(t, fixture.ExportOptions{Name: "mismatch-vm", DiskMiB: 8})
	_, _, err := pack(t.Context(), t, files, map[string]interface{}{"signing": map[string]interface{}{
		"private_key_file": filepath.Join(keys, "a.key"), "certificate_file": filepath.Join(keys, "b.crt")}})
	if err == nil || !strings.Contains(err.Error(), "does not belong to the private key") || !strings.Contains(err.Error(), "a.key") {
		t.Fatalf("mismatched key and certificate: %v", err)
	}
	if _, err := os.Stat(strings.TrimSuffix(ovfPath, ".ovf") + ".ova"); err == nil {
		t.Error("an OVA was written")
	}
}

// efiExport writes a vSphere 8 export of an EFI guest: the ovftest EFI
// descriptor (vmx-21, SATA, CD-ROM, USB, .nvram) beside a real
// streamOptimized disk made by qemu-img and an .nvram file, sizes matching.
func efiExport(t *testing.T) (dir string, desc []byte) {
	t.Helper()
	const name = "efi-vm"
	dir = t.TempDir()
	ovfPath, err := fixture.WriteExport(dir, fixture.ExportOptions{Name: name, DiskMiB: 16, DataMiB: 2, QemuImg: testenv.LookPath(t, "qemu-img")})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(strings.TrimSuffix(ovfPath, ".ovf") + ".mf") // describes the fixture's own descriptor
	fi, err := os.Stat(filepath.Join(dir, fixture.DiskName(name, 0)))
	if err != nil {
		t.Fatal(err)
	}
	desc = bytes.Replace(ovftest.EFI(), []byte(`ovf:size="2097152"`), []byte(fmt.Sprintf(`ovf:size="%d"`, fi.Size())), 1)
	writeTestFile(t, ovfPath, desc)
	writeTestFile(t, filepath.Join(dir, name+"-file1.nvram"), make([]byte, 270840))
	return dir, desc
}

func writeTestFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// An EFI export with its .nvram: the virtualbox target's OVA leaves the
// .nvram out (descriptor and manifest no longer name it) and the build
// output warns that the guest loses its firmware; the vsphere OVA keeps it.
// fail_on_firmware_loss turns the warning into an error before packing.
func TestTargetsDropNVRAMAndWarn(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "packs a qemu-img export")
	dir, _ := efiExport(t)
	files := listDir(t, dir)
	art, uiOut := mustPack(t, files, map[string]interface{}{"target": []interface{}{"vsphere", "virtualbox"}})
	if !strings.Contains(uiOut, "Warning: virtualbox: ") || !strings.Contains(uiOut, "fail_on_firmware_loss") {
		t.Errorf("no EFI warning in the build output:\n%s", uiOut)
	}
	if len(art.OVAs) != 2 {
		t.Fatalf("%d OVAs", len(art.OVAs))
	}
	for _, o := range art.OVAs {
		members := strings.Join(o.Members, " ")
		desc := member(t, o.Path, "efi-vm.ovf")
		mf := string(member(t, o.Path, "efi-vm.mf"))
		switch o.Target {
		case "vsphere":
			if !strings.Contains(members, "efi-vm-file1.nvram") {
				t.Errorf("vsphere: .nvram left out: %s", members)
			}
		case "virtualbox":
			if strings.Contains(members, ".nvram") || strings.Contains(mf, ".nvram") || bytes.Contains(desc, []byte(".nvram")) {
				t.Errorf("virtualbox: .nvram still in members %s, manifest or descriptor", members)
			}
			if err := ovftest.CheckVirtualBox(desc, o.Members[2:], ovftest.VirtualBoxLegacy); err != nil {
				t.Errorf("virtualbox: %v", err)
			}
		}
	}
	for _, o := range art.OVAs {
		os.Remove(o.Path)
		os.Remove(o.ChecksumPath)
	}
	_, _, err := pack(t.Context(), t, files, map[string]interface{}{"target": []interface{}{"virtualbox"}, "fail_on_firmware_loss": true})
	if err == nil || !strings.Contains(err.Error(), "fail_on_firmware_loss") {
		t.Errorf("fail_on_firmware_loss: %v", err)
	}
}
