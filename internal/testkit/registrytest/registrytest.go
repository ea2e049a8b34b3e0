// Package registrytest runs a real OCI registry for tests: Debian's
// `docker-registry` (the CNCF distribution registry) on 127.0.0.1 at a free
// port, with filesystem storage in the test's temp folder, optionally behind
// TLS (a CA generated for the test) and htpasswd (bcrypt) basic auth. It also
// pushes generated images with go-containerregistry.
package registrytest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Registry is a running docker-registry.
type Registry struct {
	// Host is "127.0.0.1:port", the registry part of image references.
	Host string
	// Username and Password are set when started WithAuth.
	Username, Password string
	// CAFile is the PEM CA that signed the registry's certificate, set
	// when started WithTLS.
	CAFile string
	// Dir holds the config, storage and log.
	Dir string

	cmd    *exec.Cmd
	exited chan struct{}
	log    *testenv.SyncBuffer
	pool   *x509.CertPool
}

// Option changes how the registry is started.
type Option func(*config)

type config struct {
	user, pass string
	tls        bool
}

// WithAuth protects the registry with htpasswd basic auth for one user.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1 signed by a CA
// generated for the test (Registry.CAFile).
func WithTLS() Option { return func(c *config) { c.tls = true } }

// Start runs docker-registry and stops it (killing its process group) at
// the test's cleanup. A missing docker-registry skips the test, or fails it
// under OVAKIT_STRICT=1; so does `go test -short` (a real server is heavy).
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	bin := testenv.LookPath(t, "docker-registry")
	r, err := Launch(bin, t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// Launch runs the docker-registry program bin with its config and storage
// in dir, for programs without a *testing.T (the benchmark). Call Stop.
func Launch(bin, dir string, opts ...Option) (*Registry, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	r := &Registry{Dir: dir, Username: c.user, Password: c.pass}
	var extra strings.Builder
	if c.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(c.pass), bcrypt.MinCost)
		if err != nil {
			return nil, fmt.Errorf("bcrypt: %w", err)
		}
		hp := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(hp, []byte(c.user+":"+string(hash)+"\n"), 0o600); err != nil {
			return nil, err
		}
		fmt.Fprintf(&extra, "auth:\n  htpasswd:\n    realm: registrytest\n    path: %s\n", hp)
	}
	var tlsConf string
	if c.tls {
		var err error
		if r.CAFile, tlsConf, err = makeCerts(dir); err != nil {
			return nil, fmt.Errorf("making TLS certificates: %w", err)
		}
		pem, _ := os.ReadFile(r.CAFile)
		r.pool = x509.NewCertPool()
		r.pool.AppendCertsFromPEM(pem)
	}
	// A free port can be taken between probing and binding: retry.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		r.Host = fmt.Sprintf("127.0.0.1:%d", port)
		cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
%s%s`, filepath.Join(dir, "storage"), r.Host, tlsConf, extra.String())
		cfgPath := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return nil, err
		}
		r.log = &testenv.SyncBuffer{}
		r.cmd = exec.Command(bin, "serve", cfgPath)
		r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
		testenv.SetProcessGroup(r.cmd)
		if err := r.cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting %s: %w", bin, err)
		}
		r.exited = make(chan struct{})
		go func(cmd *exec.Cmd, exited chan struct{}) { cmd.Wait(); close(exited) }(r.cmd, r.exited)
		if lastErr = r.waitReady(r.exited); lastErr == nil {
			return r, nil
		}
		r.Stop()
	}
	return nil, fmt.Errorf("docker-registry did not start: %v\nlog:\n%s", lastErr, r.log.String())
}

// Stop ends the registry's process group.
func (r *Registry) Stop() { stop(r.cmd, r.exited) }

func (r *Registry) waitReady(exited <-chan struct{}) error {
	client := r.HTTPClient()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("docker-registry exited: %s", r.log.String())
		default:
		}
		resp, err := client.Get(r.URL() + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer on %s/v2/ within 15s", r.URL())
}

func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	testenv.SignalGroup(cmd, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		testenv.SignalGroup(cmd, syscall.SIGKILL)
		<-exited
	}
}

// URL is the registry's base URL (http or https).
func (r *Registry) URL() string {
	if r.CAFile != "" {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// HTTPClient trusts the registry's CA, if any.
func (r *Registry) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if r.pool != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: r.pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// Log is what docker-registry printed so far.
func (r *Registry) Log() string { return r.log.String() }

// Ref returns "127.0.0.1:port/<repoAndTag>".
func (r *Registry) Ref(repoAndTag string) string { return r.Host + "/" + repoAndTag }

// RemoteOptions are go-containerregistry options to talk to this registry
// (credentials and CA included).
func (r *Registry) RemoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(r.HTTPClient().Transport)}
	if r.Username != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.Username, Password: r.Password}))
	}
	return opts
}

// PushImage pushes img as ref ("repo:tag" inside this registry) and returns
// the full reference and the digest the registry serves.
func (r *Registry) PushImage(t testing.TB, repoAndTag string, img v1.Image) (string, v1.Hash) {
	t.Helper()
	ref := mustRef(t, r.Ref(repoAndTag))
	if err := remote.Write(ref, img, r.RemoteOptions(context.Background())...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.String(), r.served(t, ref)
}

// PushIndex pushes an image index (and its images) as ref.
func (r *Registry) PushIndex(t testing.TB, repoAndTag string, idx v1.ImageIndex) (string, v1.Hash) {
	t.Helper()
	ref := mustRef(t, r.Ref(repoAndTag))
	if err := remote.WriteIndex(ref, idx, r.RemoteOptions(context.Background())...); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	return ref.String(), r.served(t, ref)
}

// served asks the registry which digest it serves for ref.
func (r *Registry) served(t testing.TB, ref name.Reference) v1.Hash {
	t.Helper()
	d, err := remote.Head(ref, r.RemoteOptions(context.Background())...)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest
}

func mustRef(t testing.TB, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s)
	if err != nil {
		t.Fatalf("reference %q: %v", s, err)
	}
	return ref
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// makeCerts writes a CA and a server certificate for 127.0.0.1 and returns
// the CA file and the registry config's tls section.
func makeCerts(dir string) (caFile, tlsConf string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "registrytest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	caFile = filepath.Join(dir, "ca.pem")
	certFile := filepath.Join(dir, "cert.pem")
	keyFile := filepath.Join(dir, "key.pem")
	for f, b := range map[string][]byte{
		caFile:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			return "", "", err
		}
	}
	return caFile, fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\n", certFile, keyFile), nil
}
