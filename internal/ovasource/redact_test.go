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

// No download error carries the URL's secrets: an HTTP error status, and a
// server that cannot be reached (net/http puts the whole URL into that one).
func TestDownloadErrorsRedactURL(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	t.Setenv("TMPDIR", t.TempDir())
	for _, base := range []string{hs.URL, closed} {
		u := strings.Replace(base, "http://", "http://user:pa55word@", 1) + "/base.ova?token=s3cret"
		_, err := download(context.Background(), u, nil)
		if err == nil {
			t.Fatalf("download(%s) succeeded", base)
		}
		if msg := err.Error(); strings.Contains(msg, "s3cret") || strings.Contains(msg, "pa55word") {
			t.Errorf("the error carries a secret: %s", msg)
		}
		if !strings.Contains(err.Error(), base+"/base.ova") {
			t.Errorf("the error %q does not name the source %s/base.ova", err, base)
		}
	}
}
