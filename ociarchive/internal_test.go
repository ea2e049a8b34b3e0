package ociarchive

import (
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestExplicitKeychain(t *testing.T) {
	kc := explicitKeychain{
		{Registry: "https://docker.io/", Username: "hubuser", Password: "hubpass"},
		{Registry: "registry.example.com:5000", Token: "tok-123"},
	}
	for _, c := range []struct {
		repo string
		want authn.AuthConfig
	}{
		{"nginx", authn.AuthConfig{Username: "hubuser", Password: "hubpass"}},
		{"index.docker.io/library/nginx", authn.AuthConfig{Username: "hubuser", Password: "hubpass"}},
		{"registry.example.com:5000/app", authn.AuthConfig{RegistryToken: "tok-123"}},
		{"ghcr.io/org/app", authn.AuthConfig{}},
	} {
		repo, err := name.NewRepository(c.repo)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if *got != c.want {
			t.Errorf("%s: credentials %+v, want %+v", c.repo, *got, c.want)
		}
	}
}

func TestInsecureHosts(t *testing.T) {
	insecure := []string{"registry.internal:5000"}
	for ref, scheme := range map[string]string{
		"registry.internal:5000/app:1": "http",
		"registry.other:5000/app:1":    "https",
		"127.0.0.1:5000/app:1":         "http", // go-containerregistry's own rule
	} {
		r, _, err := parseRef(ref, insecure)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Context().Scheme(); got != scheme {
			t.Errorf("%s: scheme %s, want %s", ref, got, scheme)
		}
	}
}

func TestRedact(t *testing.T) {
	w := &writer{secrets: secretsOf([]Auth{{Password: "hunter22"}, {Token: "tok-abcdef"}, {Password: "ab"}})}
	got := w.redact("login hunter22 failed with tok-abcdef; ab")
	if got != "login <redacted> failed with <redacted>; ab" {
		t.Errorf("redact = %q", got)
	}
}

func TestMatches(t *testing.T) {
	p := func(s string) v1.Platform {
		x, err := v1.ParsePlatform(s)
		if err != nil {
			t.Fatal(err)
		}
		return *x
	}
	for _, c := range []struct {
		have, want string
		any, ok    bool
	}{
		{"linux/amd64", "linux/amd64", false, true},
		{"linux/arm64/v8", "linux/arm64", false, true},
		{"linux/arm64", "linux/arm64/v8", false, true},
		{"linux/arm/v6", "linux/arm/v7", false, false},
		{"linux/arm", "linux/arm/v7", true, true},
		{"linux/arm64", "linux/amd64", true, false},
		{"windows/amd64", "linux/amd64", false, false},
	} {
		if got := matches(p(c.have), p(c.want), c.any); got != c.ok {
			t.Errorf("matches(%s, %s, %v) = %v, want %v", c.have, c.want, c.any, got, c.ok)
		}
	}
}
