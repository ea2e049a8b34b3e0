package ovasource

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"/data/base.ova":            "/data/base.ova",
		"https://u:p@h/x.ova?t=1#f": "https://h/x.ova",
		"http://h/x.ova":            "http://h/x.ova",
		"http://h/%zz?t=1":          "(unparsable URL)",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// No error fetching a checksum file carries the URL's secrets: an HTTP
// error status, and a server that cannot be reached (net/http puts the
// whole URL into that one).
func TestChecksumFileErrorsRedactURL(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, base := range []string{hs.URL, closed} {
		u := strings.Replace(base, "http://", "http://user:pa55word@", 1) + "/SHA256SUMS?token=s3cret"
		_, _, err := resolveChecksum(context.Background(), "file:"+u, "base.ova")
		if err == nil {
			t.Fatalf("fetching %s succeeded", base)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "pa55word") {
			t.Errorf("the error carries a secret: %s", msg)
		}
		if !strings.Contains(err.Error(), base+"/SHA256SUMS") {
			t.Errorf("the error %q does not name the checksum file %s/SHA256SUMS", err, base)
		}
	}
}

// A URL source is opened from its downloaded copy; an .ovf URL is refused
// before anything is fetched.
func TestOpenURLNeedsLocal(t *testing.T) {
	for u, want := range map[string]string{
		"https://h/base.ova?t=secret": "a URL source is opened from its downloaded copy",
		"https://h/disks.ovf":         "an OVF URL is not supported",
	} {
		_, err := Open(context.Background(), Options{Path: u})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: %v, want %q", u, err, want)
		}
	}
}
