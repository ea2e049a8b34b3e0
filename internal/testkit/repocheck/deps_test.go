package repocheck

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/ovakit/packer-plugin-vsphere-ova"

// Layers of the plugin's own packages, lowest first. A package may import
// its own layer and those below, never one above: the format packages know
// nothing of builders, builders nothing of each other's steps. A new package
// must be placed here, so its place is a decision, not an accident.
var layers = []struct {
	name string
	pkgs []string
	// noPacker: neither the layer nor anything it links may import Packer.
	noPacker bool
}{
	{"base", []string{
		"internal/atomicfile", "internal/ctxio", "internal/progress", "internal/sumfile",
		"internal/writeback", "internal/cpuprofile", "internal/renamed",
	}, true},
	{"format and catalog", []string{
		"hardware", "disk", "ovf", "ova", "vmdk", "ovftarget", "ovfvm", "ociarchive",
	}, true},
	{"shared builder layer and drivers", []string{
		"internal/exportdir", "internal/ovasource",
		"builder/common", "driver/...",
	}, false},
	{"components", []string{
		"builder/vsphereova", "builder/vsphereovaqemu", "post-processor/...", "provisioner/...", "version",
	}, false},
	{"plugin binary", []string{""}, false},
}

// isPacker reports whether an import path belongs to Packer or its SDK, which
// a Packer-free package must not link.
func isPacker(p string) bool {
	return strings.HasPrefix(p, "github.com/hashicorp/packer-plugin-sdk") || strings.HasPrefix(p, "github.com/hashicorp/packer/")
}

type pkgInfo struct {
	path    string   // full import path
	imports []string // full import paths
}

// listPackages runs `go list` on the module's production packages (test
// files excluded: the rules are about what ships).
func listPackages(t *testing.T, args ...string) []pkgInfo {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}"}, args...)...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v\n%s", args, err, stderrOf(err))
	}
	var pkgs []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs = append(pkgs, pkgInfo{path: f[0], imports: f[1:]})
	}
	return pkgs
}

// rel is a package's path inside the module ("" for the root); other
// packages keep their import path.
func rel(importPath string) string {
	if importPath == module {
		return ""
	}
	return strings.TrimPrefix(importPath, module+"/")
}

func own(importPath string) bool {
	return importPath == module || strings.HasPrefix(importPath, module+"/")
}

// layerOf is the index in layers of a module package, or -1 when none names it.
func layerOf(p string) int {
	for i, l := range layers {
		for _, pat := range l.pkgs {
			if p == pat || (strings.HasSuffix(pat, "/...") && strings.HasPrefix(p+"/", strings.TrimSuffix(pat, "..."))) {
				return i
			}
		}
	}
	return -1
}

// shipped reports whether a module package is part of the plugin rather than
// of its tests, benchmarks or examples.
func shipped(p string) bool {
	for _, pre := range []string{"internal/testkit", "bench", "example"} {
		if strings.HasPrefix(p, pre) {
			return false
		}
	}
	return true
}

// TestLayers: every shipped package has a layer and imports nothing above it.
func TestLayers(t *testing.T) {
	for _, p := range listPackages(t, "./...") {
		name := rel(p.path)
		if !shipped(name) {
			continue
		}
		l := layerOf(name)
		if l < 0 {
			t.Errorf("package %q has no layer: add it to layers in internal/testkit/repocheck/deps_test.go", name)
			continue
		}
		for _, imp := range p.imports {
			if !own(imp) {
				continue
			}
			if il := layerOf(rel(imp)); il > l {
				t.Errorf("%q (layer %q) imports %q (layer %q): imports must point down the layers",
					name, layers[l].name, rel(imp), layers[il].name)
			}
		}
	}
}

// TestFormatPackagesFreeOfPacker: the format packages, the catalog and what
// they link never pull in Packer, so other tools can use them.
func TestFormatPackagesFreeOfPacker(t *testing.T) {
	var pats []string
	for _, l := range layers {
		if l.noPacker {
			for _, p := range l.pkgs {
				pats = append(pats, "./"+p)
			}
		}
	}
	deps := listDeps(t, pats...)
	if len(deps) == 0 {
		t.Fatal("go list found no dependencies at all: the check would pass vacuously")
	}
	for _, d := range deps {
		// One error per edge into Packer, not one per Packer package behind it.
		if isPacker(d.dep) && !isPacker(d.via[len(d.via)-2]) {
			{
				t.Errorf("%s links %s (%s): format and base packages must stay free of Packer",
					d.root, d.dep, strings.Join(d.via, " -> "))
			}
		}
	}
}

// TestPluginLinksNoTestKit: nothing of internal/testkit (simulators, fake
// guests, fixtures), bench or example reaches the binary users install.
func TestPluginLinksNoTestKit(t *testing.T) {
	for _, d := range listDeps(t, ".") {
		if own(d.dep) && !shipped(rel(d.dep)) {
			t.Errorf("the plugin binary links %s (%s): test, bench and example packages must not ship",
				rel(d.dep), strings.Join(d.via, " -> "))
		}
	}
}

type dep struct {
	root string   // the package asked about, relative to the module
	dep  string   // a package it links (full import path)
	via  []string // the import chain from root to dep
}

// listDeps returns every package the given packages link, each with the
// shortest import chain that explains it. Patterns that match no package
// (a layer's name reserved for a package not written yet) are left out.
func listDeps(t *testing.T, pats ...string) []dep {
	t.Helper()
	pats = existing(t, pats)
	graph := map[string][]string{}
	for _, p := range listPackages(t, append([]string{"-deps"}, pats...)...) {
		graph[p.path] = p.imports
	}
	var out []dep
	for _, root := range listPackages(t, pats...) {
		via := map[string][]string{root.path: {rel(root.path)}}
		queue := []string{root.path}
		for len(queue) > 0 {
			cur := queue[0]
			queue = queue[1:]
			for _, imp := range graph[cur] {
				if _, seen := via[imp]; seen {
					continue
				}
				via[imp] = append(append([]string{}, via[cur]...), rel(imp))
				queue = append(queue, imp)
				out = append(out, dep{root: rel(root.path), dep: imp, via: via[imp]})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].root+out[i].dep < out[j].root+out[j].dep })
	return out
}
