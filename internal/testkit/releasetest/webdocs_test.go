// Package releasetest checks what a release ships, the way users and
// HashiCorp's registry receive it: the goreleaser archive installs with
// `packer plugins install --path` and builds, and the web docs (.web-docs)
// list every component the docs describe.
package releasetest

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsimple"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// metadata is the part of .web-docs/metadata.hcl the registry needs from us.
type metadata struct {
	Integration struct {
		Name        string   `hcl:"name"`
		Description string   `hcl:"description"`
		Identifier  string   `hcl:"identifier"`
		Flags       []string `hcl:"flags,optional"`
		Docs        *struct {
			ProcessDocs    bool   `hcl:"process_docs"`
			ReadmeLocation string `hcl:"readme_location"`
			ExternalURL    string `hcl:"external_url,optional"`
		} `hcl:"docs,block"`
		Components []struct {
			Type string `hcl:"type"`
			Name string `hcl:"name"`
			Slug string `hcl:"slug"`
		} `hcl:"component,block"`
	} `hcl:"integration,block"`
}

// kinds maps docs/ folders to the registry's component types.
var kinds = map[string]string{
	"builders":        "builder",
	"provisioners":    "provisioner",
	"post-processors": "post-processor",
	"datasources":     "data-source",
}

// TestWebDocsMatchDocs: every page under docs/ is a component in
// metadata.hcl with a rendered page under .web-docs/components, and nothing
// else is. Whether the rendered pages are current is `make check-generate`'s
// job; this catches a component added to docs/ but not to metadata.hcl.
func TestWebDocsMatchDocs(t *testing.T) {
	root := testenv.RepoRoot(t)
	var md metadata
	if err := hclsimple.DecodeFile(filepath.Join(root, ".web-docs", "metadata.hcl"), nil, &md); err != nil {
		t.Fatalf(".web-docs/metadata.hcl: %v", err)
	}
	in := md.Integration
	if in.Identifier != "packer/ovakit/vsphere-ova" || in.Name == "" || in.Description == "" {
		t.Errorf("integration identifier %q, name %q, description %q", in.Identifier, in.Name, in.Description)
	}
	if in.Docs == nil || !in.Docs.ProcessDocs || in.Docs.ReadmeLocation != "./README.md" {
		t.Errorf("docs block %+v: want process_docs = true, readme_location = \"./README.md\"", in.Docs)
	}

	var declared []string
	for _, c := range in.Components {
		if c.Name == "" {
			t.Errorf("component %s/%s has no name", c.Type, c.Slug)
		}
		declared = append(declared, c.Type+"/"+c.Slug)
	}
	var documented []string
	pages, _ := filepath.Glob(filepath.Join(root, "docs", "*", "*.mdx"))
	for _, p := range pages {
		folder := filepath.Base(filepath.Dir(p))
		slug := strings.TrimSuffix(filepath.Base(p), ".mdx")
		kind, ok := kinds[folder]
		if !ok {
			t.Errorf("docs/%s/%s.mdx: folder %s is not one of builders, provisioners, post-processors, datasources", folder, slug, folder)
			continue
		}
		if slug != "index" {
			documented = append(documented, kind+"/"+slug)
		}
	}
	var rendered []string
	readmes, _ := filepath.Glob(filepath.Join(root, ".web-docs", "components", "*", "*", "README.md"))
	for _, p := range readmes {
		rel, _ := filepath.Rel(filepath.Join(root, ".web-docs", "components"), filepath.Dir(p))
		rendered = append(rendered, filepath.ToSlash(rel))
	}
	slices.Sort(declared)
	slices.Sort(documented)
	slices.Sort(rendered)
	if len(documented) == 0 {
		t.Fatal("no docs/<kind>s/<slug>.mdx pages found")
	}
	if !slices.Equal(declared, documented) {
		t.Errorf("metadata.hcl declares %v; docs/ documents %v: add or remove component blocks in .web-docs/metadata.hcl", declared, documented)
	}
	if !slices.Equal(rendered, documented) {
		t.Errorf(".web-docs/components holds %v; docs/ documents %v: run `make generate` and commit", rendered, documented)
	}

	want, err := os.ReadFile(filepath.Join(root, "docs", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(root, ".web-docs", "README.md")); err != nil || !bytes.Equal(got, want) {
		t.Errorf(".web-docs/README.md differs from docs/README.md (%v): run `make generate` and commit", err)
	}
}
