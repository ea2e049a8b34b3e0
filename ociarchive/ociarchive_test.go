package ociarchive_test

import (
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

func TestReadReferences(t *testing.T) {
	in := `# images for the appliance
127.0.0.1:5000/app:1.0

  nginx@sha256:0123456789012345678901234567890123456789012345678901234567890123   # pinned
docker.io/library/busybox:1.36
`
	got, err := ociarchive.ReadReferences(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"127.0.0.1:5000/app:1.0", "nginx@sha256:0123456789012345678901234567890123456789012345678901234567890123", "docker.io/library/busybox:1.36"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"ok:1\nBad Ref:1\n", "ok:1\n\nUPPER/Case:1\n"} {
		_, err := ociarchive.ReadReferences(strings.NewReader(bad))
		if err == nil || !strings.Contains(err.Error(), "line 2") && !strings.Contains(err.Error(), "line 3") {
			t.Errorf("ReadReferences(%q) = %v, want an error naming the line", bad, err)
		}
	}
}

func TestName(t *testing.T) {
	const d = "sha256:0123456789012345678901234567890123456789012345678901234567890123"
	for in, want := range map[string]string{
		"nginx":                         "docker.io/library/nginx:latest",
		"nginx:1.27":                    "docker.io/library/nginx:1.27",
		"docker.io/library/nginx:1.27":  "docker.io/library/nginx:1.27",
		"index.docker.io/bitnami/redis": "docker.io/bitnami/redis:latest",
		"ghcr.io/org/app@" + d:          "ghcr.io/org/app@" + d,
		"quay.io/org/app:1.0@" + d:      "quay.io/org/app:1.0@" + d,
		"127.0.0.1:5000/a/b/c:v2":       "127.0.0.1:5000/a/b/c:v2",
	} {
		got, err := ociarchive.Name(in)
		if err != nil || got != want {
			t.Errorf("Name(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ociarchive.Name("Not A Ref"); err == nil || !strings.Contains(err.Error(), `"Not A Ref"`) {
		t.Errorf("Name of a bad reference: %v, want an error naming it", err)
	}
}
