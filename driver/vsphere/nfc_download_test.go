package vsphere

import (
	"bytes"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/vmware/govmomi/vim25/soap"
)

// The NFC downloader trusts a server exactly when govmomi's soap client
// would: insecure_connection, a trusted CA, or the thumbprint the lease gave
// for the host; never an untrusted certificate with no or another thumbprint.
func TestNFCDownloaderVerifiesLikeGovmomi(t *testing.T) {
	body := bytes.Repeat([]byte("disk"), 1<<18) // 1 MiB, more than one read buffer fill
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/nfc/lease/disk-0.vmdk")
	host := u.Host
	cert := srv.Certificate()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		insecure bool
		setup    func(*soap.Client)
		wantErr  string
	}{
		{name: "untrusted, no thumbprint", wantErr: "certificate"},
		{name: "thumbprint sha256", setup: func(sc *soap.Client) { sc.SetThumbprint(host, soap.ThumbprintSHA256(cert)) }},
		{name: "thumbprint sha1", setup: func(sc *soap.Client) { sc.SetThumbprint(host, soap.ThumbprintSHA1(cert)) }},
		{name: "other thumbprint", setup: func(sc *soap.Client) { sc.SetThumbprint(host, strings.Repeat("AB:", 31)+"AB") }, wantErr: "thumbprint does not match"},
		{name: "trusted CA", setup: func(sc *soap.Client) {
			if err := sc.SetRootCAs(caFile); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "insecure_connection", insecure: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc := soap.NewClient(u, c.insecure)
			if c.setup != nil {
				c.setup(sc)
			}
			dl := NewNFCDownloader(sc)
			defer dl.Close()
			r, n, err := dl.Download(context.Background(), u)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if n != int64(len(body)) || !bytes.Equal(got, body) {
				t.Errorf("read %d bytes (length %d), want the %d served", len(got), n, len(body))
			}
		})
	}
}

// A status other than 200 is an error naming it.
func TestNFCDownloaderStatus(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/nfc/gone")
	dl := NewNFCDownloader(soap.NewClient(u, true))
	defer dl.Close()
	if _, _, err := dl.Download(context.Background(), u); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("err = %v, want the 404", err)
	}
}
