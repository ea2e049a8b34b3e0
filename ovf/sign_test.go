package ovf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func testKeyAndCert(t *testing.T) (keyPEM, certPEM []byte, key *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ovakit test signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key
}

const testMF = "SHA256(vm.ovf)= 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"

// The .cert verifies with openssl exactly as the doc comment tells users to
// check it, and stops verifying when one byte of the .mf changes.
func TestSignManifestVerifiesWithOpenSSL(t *testing.T) {
	openssl := testenv.LookPath(t, "openssl")
	keyPEM, certPEM, _ := testKeyAndCert(t)
	cert, err := SignManifest("vm.mf", []byte(testMF), "sha256", keyPEM, certPEM)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(cert), "\n")
	if !strings.HasPrefix(first, "SHA256(vm.mf)= ") || !strings.HasPrefix(rest, "-----BEGIN CERTIFICATE-----\n") {
		t.Fatalf(".cert is not in ovftool's layout:\n%s", cert)
	}
	sig, err := hex.DecodeString(strings.TrimPrefix(first, "SHA256(vm.mf)= "))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	certPath := write("vm.cert", cert)
	sigPath := write("sig.bin", sig)
	pub, err := exec.Command(openssl, "x509", "-pubkey", "-noout", "-in", certPath).Output()
	if err != nil {
		t.Fatalf("openssl x509 -pubkey on our .cert: %v", err)
	}
	pubPath := write("pub.pem", pub)
	verify := func(mf []byte) (string, error) {
		out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pubPath, "-signature", sigPath, write("vm.mf", mf)).CombinedOutput()
		return string(out), err
	}
	if out, err := verify([]byte(testMF)); err != nil || !strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl dgst -verify: %v\n%s", err, out)
	}
	if out, err := verify([]byte(strings.Replace(testMF, "0123", "0124", 1))); err == nil {
		t.Fatalf("openssl verified a changed .mf:\n%s", out)
	}
	if _, err := VerifyManifestSignature(cert, []byte(testMF)); err != nil {
		t.Errorf("VerifyManifestSignature: %v", err)
	}
	if _, err := VerifyManifestSignature(cert, []byte(testMF+"\n")); err == nil {
		t.Error("VerifyManifestSignature accepted a changed .mf")
	}
}

func TestSignManifestRejects(t *testing.T) {
	keyPEM, certPEM, key := testKeyAndCert(t)
	otherKey, _, _ := testKeyAndCert(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if _, err := SignManifest("a.mf", []byte(testMF), "sha512", pkcs1, certPEM); err != nil {
		t.Errorf("PKCS #1 key: %v", err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	for name, tc := range map[string]struct {
		key, cert []byte
		alg, want string
	}{
		"mismatched key":    {otherKey, certPEM, "sha256", "does not belong to the private key"},
		"no key":            {[]byte("junk"), certPEM, "sha256", "no PEM private key"},
		"no cert":           {keyPEM, keyPEM, "sha256", "no PEM certificate"},
		"ec key":            {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}), certPEM, "sha256", "use RSA keys"},
		"encrypted":         {[]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), certPEM, "sha256", "encrypted"},
		"unknown algorithm": {keyPEM, certPEM, "md5", "unsupported signature digest"},
	} {
		_, err := SignManifest("a.mf", []byte(testMF), tc.alg, tc.key, tc.cert)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
	if !bytes.Contains(certPEM, []byte("CERTIFICATE")) {
		t.Fatal("bad test certificate")
	}
}
