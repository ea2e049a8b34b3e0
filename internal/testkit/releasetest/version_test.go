package releasetest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// One version everywhere: version/version.go (what `describe` reports), the
// CHANGELOG's newest heading, and every `required_plugins` snippet a user
// copies. `make release-version V=X.Y.Z` moves them together.

// changelogHeading is a version heading: "## 0.2.0 (unreleased)" while in
// development, "## 0.2.0 (2026-12-24)" once released, or a bare "## 0.1.0".
var changelogHeading = regexp.MustCompile(`^## (\d+\.\d+\.\d+)(?: \((?:unreleased|\d{4}-\d{2}-\d{2})\))?$`)

// snippetRE is the version constraint of our plugin in a required_plugins
// block.
var snippetRE = regexp.MustCompile(`version\s*=\s*">=\s*([^"]*)"\s*\n\s*source\s*=\s*"github.com/ovakit/vsphere-ova"`)

// snippetDirs hold what users read and copy (.web-docs is rendered from
// docs/ by make generate, and checked by check-generate).
var snippetDirs = []string{"README.md", "docs", "example", "bench", ".web-docs"}

func TestVersionEverywhere(t *testing.T) {
	root := testenv.RepoRoot(t)
	for _, problem := range versionProblems(t, root, sourceVersion(t, root)) {
		t.Error(problem)
	}
}

// versionProblems lists every place under root that disagrees with version.
func versionProblems(t *testing.T, root, version string) []string {
	t.Helper()
	var problems []string
	heading, err := newestHeading(filepath.Join(root, "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	if m := changelogHeading.FindStringSubmatch(heading); m == nil {
		problems = append(problems, fmt.Sprintf("CHANGELOG.md: newest heading %q is not \"## X.Y.Z (unreleased)\" or \"## X.Y.Z (YYYY-MM-DD)\"; run `make release-version V=%s`", heading, version))
	} else if m[1] != version {
		problems = append(problems, fmt.Sprintf("CHANGELOG.md: newest heading %q, but version/version.go says %s; run `make release-version V=...` to move both", heading, version))
	}
	snippets := 0
	for _, dir := range snippetDirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range snippetRE.FindAllSubmatch(data, -1) {
				snippets++
				if string(m[1]) != version {
					rel, _ := filepath.Rel(root, p)
					problems = append(problems, fmt.Sprintf("%s: required_plugins asks for >= %s, but version/version.go says %s", rel, m[1], version))
				}
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if snippets == 0 {
		problems = append(problems, "no required_plugins snippet for github.com/ovakit/vsphere-ova found: the check looks in the wrong places")
	}
	return problems
}

// newestHeading is the first "## " line.
func newestHeading(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "## ") {
			return sc.Text(), nil
		}
	}
	return "", fmt.Errorf("%s: no \"## \" heading", path)
}

// The check itself fails on a tree whose versions disagree.
func TestVersionProblemsFound(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snippet := "    vsphere-ova = {\n      version = \">= %s\"\n      source  = \"github.com/ovakit/vsphere-ova\"\n    }\n"
	write("CHANGELOG.md", "# Changelog\n\n## 0.2.0 (unreleased)\n\n- x\n\n## 0.1.0\n")
	write("README.md", fmt.Sprintf(snippet, "0.2.0"))
	write("example/a.pkr.hcl", fmt.Sprintf(snippet, "0.2.0"))
	if p := versionProblems(t, root, "0.2.0"); len(p) != 0 {
		t.Fatalf("agreeing tree: %v", p)
	}
	p := versionProblems(t, root, "0.3.0")
	if len(p) != 3 || !strings.Contains(p[0], `CHANGELOG.md: newest heading "## 0.2.0 (unreleased)", but version/version.go says 0.3.0`) {
		t.Errorf("version.go ahead of the rest: %q", p)
	}
	write("CHANGELOG.md", "## Unreleased\n\n## 0.2.0\n")
	if p := versionProblems(t, root, "0.2.0"); len(p) != 1 || !strings.Contains(p[0], `"## Unreleased" is not`) {
		t.Errorf("unversioned heading: %q", p)
	}
}

// TestDescribeVersion: the plugin binary reports version/version.go's
// version, as a release without ldflags would.
func TestDescribeVersion(t *testing.T) {
	testenv.Require(t, testenv.Large, "builds the plugin")
	root := testenv.RepoRoot(t)
	bin := filepath.Join(t.TempDir(), "packer-plugin-vsphere-ova")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "describe").Output()
	if err != nil {
		t.Fatalf("describe: %v", err)
	}
	var desc struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out), &desc); err != nil {
		t.Fatalf("describe output %q: %v", out, err)
	}
	if want := sourceVersion(t, root); desc.Version != want {
		t.Errorf("describe says version %q; version/version.go says %q", desc.Version, want)
	}
	for _, problem := range versionProblems(t, root, desc.Version) {
		t.Error(problem)
	}
}
