package ociarchive

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// options builds the go-containerregistry options shared by every request:
// context, TLS with the extra CAs, credentials, platform.
func (w *writer) options(ctx context.Context) ([]remote.Option, error) {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	if len(w.o.CAFiles) > 0 {
		pool, err := caPool(w.o.CAFiles)
		if err != nil {
			return nil, err
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	var kc authn.Keychain = explicitKeychain(w.o.Auth)
	if w.o.UseDockerConfig {
		kc = authn.NewMultiKeychain(kc, authn.DefaultKeychain)
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(tr),
		remote.WithAuthFromKeychain(kc),
		remote.WithPlatform(w.platform),
	}
	// One puller shares the registry ping and auth token across all
	// requests to a repository instead of redoing them per request.
	puller, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("setting up the registry client: %w", err)
	}
	return append(opts, remote.Reuse(puller)), nil
}

// caPool is the system pool plus the PEM bundles in files.
func caPool(files []string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range files {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading registry CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry CA file %q holds no PEM certificate", f)
		}
	}
	return pool, nil
}

// explicitKeychain answers with the Options.Auth entry for a registry host,
// anonymous for any other host.
type explicitKeychain []Auth

func (k explicitKeychain) Resolve(res authn.Resource) (authn.Authenticator, error) {
	host := normHost(res.RegistryStr())
	for _, a := range k {
		if normHost(a.Registry) != host {
			continue
		}
		if a.Token != "" {
			return authn.FromConfig(authn.AuthConfig{RegistryToken: a.Token}), nil
		}
		return authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password}), nil
	}
	return authn.Anonymous, nil
}

// secretsOf lists the credentials that must never reach a log or an error.
func secretsOf(auths []Auth) []string {
	var s []string
	for _, a := range auths {
		for _, v := range []string{a.Password, a.Token} {
			// Very short values would redact innocent text; they are
			// still never logged by this package.
			if len(v) >= 4 {
				s = append(s, v)
			}
		}
	}
	return s
}

// redact removes any credential from text: a safety net in case a registry
// or library echoes one back in an error.
func (w *writer) redact(s string) string {
	for _, v := range w.secrets {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	return s
}

func (w *writer) redactErr(err error) error {
	if err == nil {
		return nil
	}
	if msg := err.Error(); w.redact(msg) != msg {
		return errors.New(w.redact(msg))
	}
	return err
}
