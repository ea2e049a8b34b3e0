package ova

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// testKeyPair returns a fresh RSA key and a self-signed certificate, PEM.
func testKeyPair(t *testing.T) (keyPEM, certPEM []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ova test signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// A signed output has its .cert member right after the .mf (ovftool's
// order), the archive is well formed (the size plan counted the member) and
// the signature verifies against the .mf in the archive; an unsigned output
// of the same PackAll has no .cert.
func TestPackAllSigned(t *testing.T) {
	fx := newExport(t, diskSizes...)
	keyPEM, certPEM := testKeyPair(t)
	var signedMF []byte
	sign := func(mfName string, mf []byte) ([]byte, error) {
		signedMF = bytes.Clone(mf)
		return ovf.SignManifest(mfName, mf, "sha256", keyPEM, certPEM)
	}
	dir := t.TempDir()
	rs, err := PackAll(context.Background(), Options{OVFPath: fx.ovf, ModTime: fixedTime(), Outputs: []Output{
		{Path: filepath.Join(dir, "signed.ova"), Sign: sign},
		{Path: filepath.Join(dir, "plain.ova")},
	}})
	if err != nil {
		t.Fatalf("PackAll: %v", err)
	}
	want := append([]string{"vm.ovf", "vm.mf", "vm.cert"}, fx.disks...)
	if fmt.Sprint(rs[0].Members) != fmt.Sprint(want) {
		t.Errorf("signed members %q, want %q", rs[0].Members, want)
	}
	if fmt.Sprint(rs[1].Members) != fmt.Sprint(append([]string{"vm.ovf", "vm.mf"}, fx.disks...)) {
		t.Errorf("unsigned output members %q", rs[1].Members)
	}
	a, err := OpenArchive(rs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	names := a.Names()
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("archive holds %q, want %q", names, want)
	}
	read := func(name string) []byte {
		rc, _, err := a.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	mf, cert := read("vm.mf"), read("vm.cert")
	if !bytes.Equal(mf, signedMF) {
		t.Error("the .mf in the archive is not the one that was signed")
	}
	if !strings.HasPrefix(string(cert), "SHA256(vm.mf)= ") {
		t.Errorf(".cert starts %q", cert[:min(len(cert), 40)])
	}
	if _, err := ovf.VerifyManifestSignature(cert, mf); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	for _, d := range fx.disks {
		if !bytes.Equal(read(d), fx.data[d]) {
			t.Errorf("%s differs from the export's", d)
		}
	}
}

// A signing error fails PackAll before any archive is written.
func TestPackAllSignError(t *testing.T) {
	fx := newExport(t, diskSizes...)
	dir := t.TempDir()
	_, err := PackAll(context.Background(), Options{OVFPath: fx.ovf, Outputs: []Output{
		{Path: filepath.Join(dir, "a.ova")},
		{Path: filepath.Join(dir, "b.ova"), Sign: func(string, []byte) ([]byte, error) { return nil, errors.New("no key") }},
	}})
	if err == nil || !strings.Contains(err.Error(), "signing the manifest of "+filepath.Join(dir, "b.ova")) || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("PackAll with a failing signer: %v", err)
	}
	assertNoLeftovers(t, dir)
}
