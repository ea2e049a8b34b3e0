package releasetest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sumfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

const project = "packer-plugin-vsphere-ova"

// archiveRE is the name `packer init` looks for in a release.
var archiveRE = regexp.MustCompile(`^` + project + `_v(\d+\.\d+\.\d+)_x5\.0_([a-z0-9]+)_([a-z0-9]+)\.zip$`)

// TestReleaseSnapshotInstallsAndBuilds runs goreleaser on .goreleaser.yml
// with every platform it lists (`make cross` compiled the same packages with
// the same flags just before in `make test`, so goreleaser mostly links from
// the build cache), checks that every archive holds its binary and the
// LICENSE, then treats the linux/amd64 archive as a user would: check
// SHA256SUMS, unzip, install with `packer plugins install --path`, `packer
// init` and `packer build` a template that needs exactly that version.
func TestReleaseSnapshotInstallsAndBuilds(t *testing.T) {
	testenv.Require(t, testenv.Packer, "builds a release with goreleaser and runs real Packer")
	root := testenv.RepoRoot(t)
	goreleaser := findGoreleaser(t, root)
	sha256sum := testenv.LookPath(t, "sha256sum")
	qemuImg := testenv.LookPath(t, "qemu-img")
	version := sourceVersion(t, root)

	dist := filepath.Join(t.TempDir(), "dist")
	cfg := snapshotConfig(t, root, dist)
	runGoreleaser(t, root, goreleaser, version, "release", "--snapshot", "--clean",
		"--skip=sign,before", "--config", cfg)

	// Names: one zip per platform and a SHA256SUMS, as packer init expects.
	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	license, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	archives := map[string]string{} // os_arch -> archive name
	for _, e := range entries {
		if m := archiveRE.FindStringSubmatch(e.Name()); m != nil {
			archives[m[2]+"_"+m[3]] = e.Name()
			if m[1] != version {
				t.Errorf("archive %s is version %s; version/version.go says %s", e.Name(), m[1], version)
			}
			checkArchive(t, filepath.Join(dist, e.Name()), license)
		}
	}
	want := platforms(t, cfg)
	for _, p := range want {
		if archives[p] == "" {
			t.Errorf("no %s_vX.Y.Z_x5.0_%s.zip in dist: %v", project, p, names(entries))
		}
	}
	if len(archives) != len(want) {
		t.Errorf("archives for %d platforms, want the %d of .goreleaser.yml: %v", len(archives), len(want), archives)
	}
	archive := archives["linux_amd64"]
	if archive == "" {
		t.FailNow()
	}
	sumsName := fmt.Sprintf("%s_v%s_SHA256SUMS", project, version)
	sums, err := os.ReadFile(filepath.Join(dist, sumsName))
	if err != nil {
		t.Fatalf("checksum file: %v (dist holds %v)", err, names(entries))
	}
	parsed, err := sumfile.Parse(sums)
	if err != nil {
		t.Fatalf("%s: %v", sumsName, err)
	}
	for _, a := range archives {
		if _, ok := parsed.Lookup(a); !ok {
			t.Errorf("%s lacks the archive %s", sumsName, a)
		}
	}
	if len(parsed.Entries) != len(archives) {
		t.Errorf("%s lists %d files; want the %d archives", sumsName, len(parsed.Entries), len(archives))
	}
	check := exec.Command(sha256sum, "-c", sumsName)
	check.Dir = dist
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), archive+": OK") {
		t.Fatalf("sha256sum -c %s: %v\n%s", sumsName, err, out)
	}

	// The zip holds the binary, named as Packer names installed plugins.
	binName := strings.TrimSuffix(archive, ".zip")
	bin := unzipBinary(t, filepath.Join(dist, archive), binName)
	var desc struct {
		Version    string `json:"version"`
		APIVersion string `json:"api_version"`
	}
	out, err := exec.Command(bin, "describe").Output()
	if err != nil {
		t.Fatalf("%s describe: %v", binName, err)
	}
	if err := json.Unmarshal(out, &desc); err != nil {
		t.Fatalf("describe output %q: %v", out, err)
	}
	if desc.Version != version || desc.APIVersion != "x5.0" {
		t.Errorf("describe says version %q, API %q; want %q, x5.0", desc.Version, desc.APIVersion, version)
	}

	// Install the release binary and build with it.
	env := packertest.NewWithPlugin(t, bin)
	res := env.Run(t.Context(), t.TempDir(), "plugins", "installed")
	if res.Err != nil || !strings.Contains(res.Output, binName) {
		t.Fatalf("packer plugins installed does not list %s: %v\n%s", binName, res.Err, res.Output)
	}
	work := t.TempDir()
	exportDir := filepath.Join(work, "export")
	if _, err := fixture.WriteExport(exportDir, fixture.ExportOptions{Name: "rel", DiskMiB: 8, WithManifest: true, QemuImg: qemuImg}); err != nil {
		t.Fatal(err)
	}
	ova := filepath.Join(work, "rel.ova")
	tmpl := fmt.Sprintf(template, version, packertest.Source, exportDir, ova)
	if err := os.WriteFile(filepath.Join(work, "release.pkr.hcl"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	buildOut := env.Build(t, work)
	if !strings.Contains(buildOut, ova) {
		t.Errorf("build output does not name the OVA %s:\n%s", ova, buildOut)
	}
	check = exec.Command(sha256sum, "-c", "rel.ova.sha256")
	check.Dir = work
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c rel.ova.sha256: %v\n%s", err, out)
	}
}

// template needs exactly the release's version, so `packer init` must accept
// the installed archive binary; null + artifice hand the sample export to the
// post-processor.
const template = `
packer {
  required_plugins {
    vsphere-ova = {
      version = "= %s"
      source  = "%s"
    }
  }
}

source "null" "export" {
  communicator = "none"
}

build {
  sources = ["source.null.export"]
  post-processors {
    post-processor "artifice" {
      files = formatlist("%%s/%%s", %[3]q, sort(fileset(%[3]q, "rel*")))
    }
    post-processor "vsphere-ova" {
      output              = %[4]q
      manifest_algorithm  = "sha256"
      checksum_algorithm  = "sha256"
      keep_input_artifact = true
    }
  }
}
`

// runGoreleaser runs goreleaser in the repository with the tag `make
// release-snapshot` gives it (the source's version), stopping it and its go
// builds before the test's deadline so a slow build fails with its output.
func runGoreleaser(t *testing.T, root, goreleaser, version string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Minute)
	defer cancel()
	if dl, ok := t.Deadline(); ok {
		var c2 context.CancelFunc
		ctx, c2 = context.WithDeadline(ctx, dl.Add(-time.Minute))
		defer c2()
	}
	var out testenv.SyncBuffer
	cmd := exec.CommandContext(ctx, goreleaser, args...)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = &out, &out
	testenv.SetProcessGroup(cmd)
	cmd.Cancel = func() error { return testenv.SignalGroup(cmd, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(), "GORELEASER_CURRENT_TAG=v"+version)
	// goreleaser drops every git fact, the tag included, in a clone without
	// a remote (a worktree); give it one in the environment as the
	// GNUmakefile does, never in .git/config.
	if err := exec.Command("git", "-C", root, "ls-remote", "--get-url").Run(); err != nil {
		cmd.Env = append(cmd.Env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=remote.origin.url",
			"GIT_CONFIG_VALUE_0=https://github.com/ovakit/"+project+".git")
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("goreleaser %s: %v after %s\n%s", strings.Join(args, " "), err, time.Since(start).Round(time.Second), out.String())
	}
	t.Logf("goreleaser %s: %s", args[0], time.Since(start).Round(time.Second))
}

// findGoreleaser returns $GORELEASER_BIN or bin/goreleaser (`make tools`).
func findGoreleaser(t *testing.T, root string) string {
	t.Helper()
	if p := os.Getenv("GORELEASER_BIN"); p != "" {
		return p
	}
	p := filepath.Join(root, "bin", "goreleaser")
	if _, err := os.Stat(p); err != nil {
		testenv.Unavailable(t, "%s not found: run `make tools` to build goreleaser from tools/go.mod", p)
	}
	return p
}

var versionRE = regexp.MustCompile(`(?m)^\s*Version = "([^"]+)"`)

// sourceVersion is the Version in version/version.go.
func sourceVersion(t *testing.T, root string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "version", "version.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := versionRE.FindSubmatch(src)
	if m == nil {
		t.Fatal(`version/version.go has no line Version = "X.Y.Z"`)
	}
	return string(m[1])
}

// snapshotConfig writes .goreleaser.yml with its output in dist, and returns
// its path. Everything else (platforms, names, flags, ldflags, archives,
// checksums) is the release's own.
func snapshotConfig(t *testing.T, root, dist string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, ".goreleaser.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf(".goreleaser.yml: %v", err)
	}
	cfg["dist"] = dist
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "goreleaser-snapshot.yml")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkArchive: the zip holds exactly the plugin binary and LICENSE, whose
// text is the repository's.
func checkArchive(t *testing.T, zipPath string, license []byte) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	base := strings.TrimSuffix(filepath.Base(zipPath), ".zip")
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name)
	}
	slices.Sort(got)
	bin := base
	if strings.Contains(base, "_windows_") {
		bin += ".exe"
	}
	if want := []string{"LICENSE", bin}; !slices.Equal(got, want) {
		t.Errorf("%s holds %v; want %v", filepath.Base(zipPath), got, want)
		return
	}
	if text := readMember(t, zr, "LICENSE"); !bytes.Equal(text, license) {
		t.Errorf("%s: LICENSE differs from the repository's", filepath.Base(zipPath))
	}
}

func readMember(t *testing.T, zr *zip.ReadCloser, name string) []byte {
	t.Helper()
	rc, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// unzipBinary extracts the binary name from the zip.
func unzipBinary(t *testing.T, zipPath, name string) string {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(dst, readMember(t, zr, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

type platform struct {
	Goos   string `yaml:"goos"`
	Goarch string `yaml:"goarch"`
}

// platforms lists the os_arch pairs the goreleaser config builds.
func platforms(t *testing.T, cfgPath string) []string {
	t.Helper()
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Builds []struct {
			Goos   []string   `yaml:"goos"`
			Goarch []string   `yaml:"goarch"`
			Ignore []platform `yaml:"ignore"`
		} `yaml:"builds"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range cfg.Builds {
		for _, o := range b.Goos {
			for _, a := range b.Goarch {
				if !slices.Contains(b.Ignore, platform{o, a}) {
					out = append(out, o+"_"+a)
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("the goreleaser config builds no platform")
	}
	return out
}

func names(entries []os.DirEntry) []string {
	var s []string
	for _, e := range entries {
		s = append(s, e.Name())
	}
	return s
}
