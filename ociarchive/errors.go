package ociarchive

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// describeErr turns a registry or network error into one that names the
// image, the registry and what went wrong, with a hint at the fix.
func describeErr(ref string, host string, err error) error {
	var terr *transport.Error
	if errors.As(err, &terr) {
		return describeHTTPErr(ref, host, terr)
	}
	if strings.Contains(err.Error(), "x509:") {
		return fmt.Errorf("image %q: the TLS certificate of registry %s is not trusted; give the registry's CA in the CA files: %w", ref, host, err)
	}
	var nerr net.Error
	var operr *net.OpError
	if errors.As(err, &operr) || errors.As(err, &nerr) {
		return fmt.Errorf("image %q: cannot reach registry %s: %w", ref, host, err)
	}
	return fmt.Errorf("image %q (registry %s): %w", ref, host, err)
}

// describeHTTPErr describes an error answer of the registry.
func describeHTTPErr(ref, host string, terr *transport.Error) error {
	what := fmt.Sprintf("HTTP %d", terr.StatusCode)
	for _, d := range terr.Errors {
		what += fmt.Sprintf(" %s: %s", d.Code, d.Message)
	}
	if len(terr.Errors) == 0 {
		what = strings.TrimSpace(terr.Error())
	}
	if strings.Contains(what, "HTTPS server") {
		// go-containerregistry tries HTTPS, then plain HTTP for
		// loopback and private hosts: the HTTPS failure is lost.
		return fmt.Errorf("image %q: registry %s speaks HTTPS but its certificate was not trusted (then plain HTTP got: %s); give the registry's CA in the CA files", ref, host, what)
	}
	hint := ""
	switch terr.StatusCode {
	case http.StatusNotFound:
		hint = "; check the repository name and tag or digest"
	case http.StatusUnauthorized, http.StatusForbidden:
		hint = "; check the credentials given for this registry"
	}
	return fmt.Errorf("image %q: registry %s answered %s%s", ref, host, what, hint)
}
