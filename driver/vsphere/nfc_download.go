package vsphere

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/vmware/govmomi/vim25/soap"
)

// downloadReadBuffer is the read buffer under TLS on NFC downloads.
// crypto/tls reads the socket one record (16 KiB) at a time; at disk speed
// those reads cost about a CPU-second per 4 GiB on the machines we measure
// (issue 8), and a buffer under TLS turns them into a few large reads.
const downloadReadBuffer = 1 << 20

// NFCDownloader GETs NFC lease URLs. It verifies servers exactly as
// govmomi's soap client does (its TLS settings, then the thumbprint the
// lease gave for a host whose certificate is not trusted) but reads the
// socket through downloadReadBuffer. SOAP calls keep govmomi's transport.
type NFCDownloader struct {
	sc     *soap.Client
	client *http.Client
}

func NewNFCDownloader(sc *soap.Client) *NFCDownloader {
	t := sc.DefaultTransport().Clone()
	d := &NFCDownloader{sc: sc}
	t.DialTLSContext = d.dialTLS
	d.client = &http.Client{Transport: t, Jar: sc.Client.Jar}
	return d
}

// Close closes the idle connections of its own transport.
func (d *NFCDownloader) Close() { d.client.CloseIdleConnections() }

// Download GETs u and returns its body and length (-1 when unknown).
func (d *NFCDownloader) Download(ctx context.Context, u *url.URL) (io.ReadCloser, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	res, err := d.client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, 0, fmt.Errorf("download(%s): %s", u, res.Status)
	}
	return res.Body, res.ContentLength, nil
}

// dialTLS is govmomi's soap.Client dialTLSContext over a buffered
// connection: the client's TLS configuration first; if the certificate is
// untrusted and the lease named a thumbprint for the host, a connection
// whose certificate has that thumbprint.
func (d *NFCDownloader) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	cfg := d.sc.DefaultTransport().TLSClientConfig
	conn, err := dialBuffered(ctx, network, addr, cfg)
	if err == nil {
		return conn, nil
	}
	if !soap.IsCertificateUntrusted(err) {
		return nil, err
	}
	thumbprint := d.sc.Thumbprint(addr)
	if thumbprint == "" {
		return nil, err
	}
	conn, err = dialBuffered(ctx, network, addr, &tls.Config{InsecureSkipVerify: true}) // checked by thumbprint below
	if err != nil {
		return nil, err
	}
	cert := conn.ConnectionState().PeerCertificates[0]
	if thumbprint == soap.ThumbprintSHA256(cert) || thumbprint == soap.ThumbprintSHA1(cert) {
		return conn, nil
	}
	_ = conn.Close()
	return nil, fmt.Errorf("host %q thumbprint does not match %q", addr, thumbprint)
}

func dialBuffered(ctx context.Context, network, addr string, cfg *tls.Config) (*tls.Conn, error) {
	raw, err := new(net.Dialer).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := cfg.Clone()
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		c.ServerName = host
	}
	conn := tls.Client(&bufferedConn{Conn: raw, r: bufio.NewReaderSize(raw, downloadReadBuffer)}, c)
	if err := conn.HandshakeContext(ctx); err != nil {
		_ = raw.Close()
		return nil, err
	}
	return conn, nil
}

// bufferedConn reads through r; everything else is the connection's.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
