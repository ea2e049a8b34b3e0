package ovf

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// SignManifest returns the content of the .cert member that ovftool writes
// when it signs a package (ovftool --privateKey): one line
// "SHA256(<mfName>)= <hex RSA signature of the .mf bytes>" and then the PEM
// certificate(s). The signature is PKCS #1 v1.5 over the digest of mf, so
//
//	openssl dgst -sha256 -verify <(openssl x509 -pubkey -noout -in x.cert) -signature sig.bin x.mf
//
// verifies it, sig.bin being the hex decoded. algorithm is the manifest's
// ("sha256", "sha512" or "sha1"); vSphere checks the .cert with the same one.
// keyPEM holds an unencrypted RSA private key (PKCS #1 or PKCS #8) and
// certPEM the matching certificate, optionally followed by its chain.
func SignManifest(mfName string, mf []byte, algorithm string, keyPEM, certPEM []byte) ([]byte, error) {
	h, hashID, err := signingHash(algorithm)
	if err != nil {
		return nil, err
	}
	key, err := parseRSAKey(keyPEM)
	if err != nil {
		return nil, err
	}
	certs, err := parseCerts(certPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := certs[0].PublicKey.(*rsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("the certificate does not belong to the private key (its public key differs); pass the certificate issued for this key")
	}
	h.Write(mf)
	sig, err := rsa.SignPKCS1v15(nil, key, hashID, h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("sign %s: %w", mfName, err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s(%s)= %s\n", strings.ToUpper(algorithm), mfName, hex.EncodeToString(sig))
	for _, c := range certs {
		if err := pem.Encode(&out, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

var certLine = regexp.MustCompile(`^([A-Za-z0-9]+)\((.*)\)= ?([0-9a-fA-F]+)\r?$`)

// VerifyManifestSignature checks a .cert member against the .mf bytes it
// names, as an importer does, and returns the signing certificate. It does
// not judge whether the certificate is trusted; that is the importer's call.
func VerifyManifestSignature(certFile, mf []byte) (*x509.Certificate, error) {
	first, rest, _ := bytes.Cut(certFile, []byte("\n"))
	m := certLine.FindSubmatch(first)
	if m == nil {
		return nil, fmt.Errorf("first line %q is not \"SHA256(name.mf)= hex signature\"", truncate(string(first), 80))
	}
	h, hashID, err := signingHash(string(m[1]))
	if err != nil {
		return nil, err
	}
	sig, err := hex.DecodeString(string(m[3]))
	if err != nil {
		return nil, fmt.Errorf("signature is not hex: %w", err)
	}
	certs, err := parseCerts(rest)
	if err != nil {
		return nil, err
	}
	pub, ok := certs[0].PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("certificate key is not RSA")
	}
	h.Write(mf)
	if err := rsa.VerifyPKCS1v15(pub, hashID, h.Sum(nil), sig); err != nil {
		return nil, fmt.Errorf("signature of %s does not verify with the certificate: %w", m[2], err)
	}
	return certs[0], nil
}

func signingHash(algorithm string) (interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
}, crypto.Hash, error) {
	var id crypto.Hash
	switch strings.ToLower(algorithm) {
	case "sha1":
		id = crypto.SHA1
	case "sha256":
		id = crypto.SHA256
	case "sha512":
		id = crypto.SHA512
	default:
		return nil, 0, fmt.Errorf("unsupported signature digest %q: use sha256, sha512 or sha1", algorithm)
	}
	h, err := NewHash(algorithm)
	return h, id, err
}

func parseRSAKey(data []byte) (*rsa.PrivateKey, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM private key found (want \"-----BEGIN PRIVATE KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\")")
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			if _, enc := b.Headers["DEK-Info"]; enc {
				return nil, errors.New("the private key is encrypted; write an unencrypted copy (openssl rsa -in key.pem -out plain.pem) and keep it safe")
			}
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("read RSA private key: %w", err)
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("read PKCS #8 private key: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the private key is %T; OVF signatures (ovftool, vSphere) use RSA keys", k)
			}
			return rk, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("the private key is encrypted; write an unencrypted copy (openssl pkey -in key.pem -out plain.pem) and keep it safe")
		case "EC PRIVATE KEY":
			return nil, errors.New("the private key is an EC key; OVF signatures (ovftool, vSphere) use RSA keys")
		}
	}
}

func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("read certificate #%d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate found (want \"-----BEGIN CERTIFICATE-----\")")
	}
	return out, nil
}
