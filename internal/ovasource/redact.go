package ovasource

import (
	"errors"
	"net/url"
)

// Redact is how a source path appears in messages, errors and labels: a URL
// without its user info, query and fragment (basic auth and signed URLs
// carry secrets there, and build logs are shared); a local path as it is.
func Redact(p string) string {
	if !IsURL(p) {
		return p
	}
	u, err := url.Parse(p)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}

// redactErr rewrites the URL net/http puts into its errors (Get "...": ...).
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = Redact(ue.URL)
	}
	return err
}
