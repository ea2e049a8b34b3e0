package ociarchive

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ReadReferences parses an images_file: one reference per line; '#' starts a
// comment (whole line or after the reference) and blank lines are ignored.
// Each reference is checked, and a bad one is reported with its line number.
func ReadReferences(r io.Reader) ([]string, error) {
	var refs []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		if i := strings.Index(s, "#"); i >= 0 {
			s = s[:i]
		}
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, " \t") {
			return nil, fmt.Errorf("line %d: %q holds more than one word; write one image reference per line", line, s)
		}
		if _, err := name.ParseReference(s); err != nil {
			return nil, fmt.Errorf("line %d: %q is not an image reference (want e.g. registry.example.com/app:1.0 or nginx@sha256:...): %w", line, s, err)
		}
		refs = append(refs, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading image references: %w", err)
	}
	return refs, nil
}

// Name returns the full name an image reference is stored under in the
// archive's annotations, which is also the name containerd (and so
// `k3s ctr images ls` and `crictl images`) lists it by: Docker Hub names
// expanded ("nginx" -> "docker.io/library/nginx:latest"), a tag kept next
// to a digest.
func Name(ref string) (string, error) {
	_, full, err := parseRef(ref, nil)
	return full, err
}

// parseRef parses a reference, reaching the hosts in insecure over plain
// HTTP, and returns the full name to store (Docker Hub as "docker.io", a tag
// kept next to a digest).
func parseRef(s string, insecure []string) (name.Reference, string, error) {
	var opts []name.Option
	if r, err := name.ParseReference(s); err == nil {
		for _, h := range insecure {
			if normHost(h) == normHost(r.Context().RegistryStr()) {
				opts = append(opts, name.Insecure)
			}
		}
	}
	ref, err := name.ParseReference(s, opts...)
	if err != nil {
		return nil, "", fmt.Errorf("image %q is not a valid reference (want e.g. registry.example.com/app:1.0 or nginx@sha256:...): %w", s, err)
	}
	repo := ref.Context()
	host := repo.RegistryStr()
	if host == name.DefaultRegistry {
		host = "docker.io" // the name containerd and k3s use
	}
	full := host + "/" + repo.RepositoryStr()
	switch r := ref.(type) {
	case name.Tag:
		full += ":" + r.TagStr()
	case name.Digest:
		// "app:1.0@sha256:..." keeps its tag in the name, as containerd does.
		if t, err := name.NewTag(strings.SplitN(s, "@", 2)[0], name.StrictValidation); err == nil {
			full += ":" + t.TagStr()
		}
		full += "@" + r.DigestStr()
	}
	return ref, full, nil
}

// normHost maps the spellings of a registry host users write to the one
// go-containerregistry resolves (Docker Hub has three).
func normHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(h), "https://"), "http://")
	if i := strings.Index(h, "/"); i >= 0 {
		h = h[:i]
	}
	switch h {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return name.DefaultRegistry
	}
	return h
}

// refHost is the registry host of a reference, for error messages.
func refHost(ref string) string {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "?"
	}
	return r.Context().RegistryStr()
}
