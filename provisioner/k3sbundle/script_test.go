package k3sbundle

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// variant is one way the guest script can be rendered.
type variant struct {
	name   string
	c      *Config
	images []string
}

// scriptVariants covers every branch of the templates: native install vs
// install_script, verify on/off, cleanup off / fstrim / zero_fill, with
// and without images to wait for (one with a quote in it).
func scriptVariants() []variant {
	var out []variant
	for _, native := range []bool{true, false} {
		for _, verify := range []bool{false, true} {
			for _, cleanup := range []string{"off", "fstrim", "zero_fill"} {
				for _, images := range [][]string{nil, {"example.com/app:1", "docker.io/library/it's:odd"}} {
					c := &Config{BinDir: "/usr/local/bin", Verify: verify, VerifyTimeout: 90 * time.Second,
						Cleanup: cleanup != "off", ZeroFill: cleanup == "zero_fill"}
					install := "native"
					if !native {
						install = "install_script"
						c.BinDir = "/opt/k3s/bin"
						c.InstallScript = "install.sh"
						c.InstallScriptEnv = []string{"INSTALL_K3S_EXEC=server --disable=traefik", "QUOTE=it's"}
					}
					out = append(out, variant{
						name:   fmt.Sprintf("%s-verify_%t-cleanup_%s-images_%d", install, verify, cleanup, len(images)),
						c:      c,
						images: images,
					})
				}
			}
		}
	}
	return out
}

// renderedScripts writes every variant of the install script and every
// shell file of the native install to dir and returns their paths.
func renderedScripts(t *testing.T, dir string) []string {
	t.Helper()
	var paths []string
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	for _, v := range scriptVariants() {
		pl := &plan{dests: map[string]string{}}
		for _, f := range append([]file{{dest: v.c.BinDir + "/k3s", mode: "0755", label: "k3s"}}, nativeFiles(v.c.BinDir)...) {
			if err := pl.add(f); err != nil {
				t.Fatal(err)
			}
		}
		files := pl.files
		write(v.name+".sh", []byte(installScript(v.c, "/tmp/k3s-bundle-0123456789ab", files, v.images)))
	}
	for _, bin := range []string{"/usr/local/bin", "/opt/k3s/bin"} {
		for _, f := range nativeFiles(bin) {
			if strings.HasSuffix(f.dest, ".sh") {
				write(strings.ReplaceAll(strings.TrimPrefix(f.dest, "/"), "/", "_"), f.data)
			}
		}
	}
	return paths
}

// shellcheck runs the Debian package's shellcheck, POSIX sh dialect, every
// severity, on files and returns its findings ("" when clean).
func shellcheck(t *testing.T, files ...string) string {
	t.Helper()
	bin := testenv.LookPath(t, "shellcheck")
	out, err := exec.Command(bin, append([]string{"--norc", "--shell=sh", "--severity=style", "--format=gcc"}, files...)...).CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("running shellcheck: %v", err)
		}
		if len(out) == 0 {
			t.Fatalf("shellcheck failed without findings: %v", err)
		}
	}
	return string(out)
}

// TestGuestScriptsParse runs `sh -n` (the POSIX grammar, via the host's
// sh) over every rendered variant.
func TestGuestScriptsParse(t *testing.T) {
	sh := testenv.LookPath(t, "sh")
	for _, p := range renderedScripts(t, t.TempDir()) {
		if out, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n: %v\n%s", filepath.Base(p), err, out)
		}
	}
}

// TestGuestScriptsShellcheck lints every rendered variant with shellcheck.
func TestGuestScriptsShellcheck(t *testing.T) {
	testenv.LookPath(t, "shellcheck")
	dir := t.TempDir()
	paths := renderedScripts(t, dir)
	want := len(scriptVariants()) + 4
	if len(paths) != want {
		t.Fatalf("%d scripts rendered, want %d", len(paths), want)
	}
	if out := shellcheck(t, paths...); out != "" {
		t.Errorf("shellcheck findings in the rendered guest scripts (files in %s):\n%s", dir, out)
		for _, p := range paths {
			if strings.Contains(out, p+":") {
				data, _ := os.ReadFile(p)
				t.Logf("%s:\n%s", filepath.Base(p), numbered(data))
				break
			}
		}
	}
}

// TestShellcheckCatchesBrokenScript keeps the lint honest: the same call
// must report an unquoted variable and, in another file, a missing fi.
func TestShellcheckCatchesBrokenScript(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ script, want string }{
		"unquoted.sh": {"#!/bin/sh\nS=$1\nrm -rf $S/*\n", "SC2086"},
		"syntax.sh":   {"#!/bin/sh\nif [ -e \"$1\" ]; then\n\techo there\n", "error"},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(c.script), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := shellcheck(t, p); !strings.Contains(out, c.want) {
			t.Errorf("shellcheck did not report %s in %s:\n%s", c.want, name, out)
		}
	}
}

func numbered(b []byte) string {
	var s strings.Builder
	for i, l := range bytes.Split(b, []byte("\n")) {
		fmt.Fprintf(&s, "%4d %s\n", i+1, l)
	}
	return s.String()
}

// TestClearIdentityFollowsIdentityPaths runs the generated clear_identity
// with rm and find replaced by recorders: it must remove exactly the paths
// of IdentityPaths, and keep only Keep inside a Keep folder.
func TestClearIdentityFollowsIdentityPaths(t *testing.T) {
	sh := testenv.LookPath(t, "sh")
	script := installScript(&Config{BinDir: "/usr/local/bin", Verify: true, VerifyTimeout: time.Minute}, "/tmp/x", nil, nil)
	start := strings.Index(script, "\nclear_identity() {\n")
	end := strings.Index(script[start+1:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatalf("no clear_identity function in the script:\n%s", script)
	}
	fn := script[start+1 : start+1+end+3]
	// `[ -d DIR ]` is true for the Keep folders: the recorder pretends
	// every folder exists, so the find branch runs too.
	probe := `rm() { printf 'rm %s\n' "$*"; }
find() { printf 'find %s\n' "$*"; }
test() { return 0; }
` + strings.ReplaceAll(fn, "[ -d ", "test -d ") + "\nclear_identity\n"
	out, err := exec.Command(sh, "-c", probe).CombinedOutput()
	if err != nil {
		t.Fatalf("running clear_identity: %v\n%s", err, out)
	}
	var want strings.Builder
	for _, p := range IdentityPaths {
		if p.Keep != "" {
			fmt.Fprintf(&want, "find %s -mindepth 1 -maxdepth 1 ! -name %s -exec rm -rf {} +\n", p.Path, p.Keep)
		} else {
			fmt.Fprintf(&want, "rm -rf %s\n", p.Path)
		}
	}
	if string(out) != want.String() {
		t.Errorf("clear_identity does:\n%s\nwant (from IdentityPaths):\n%s", out, want.String())
	}
	if !strings.Contains(script, "\nclear_identity\n") {
		t.Error("verify does not call clear_identity")
	}
}

// TestDocsListIdentityPaths keeps the provisioner's docs naming every path
// clear_identity removes.
func TestDocsListIdentityPaths(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "docs", "provisioners", "k3s-bundle.mdx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range IdentityPaths {
		if !strings.Contains(string(doc), "`"+p.Path+"`") && !strings.Contains(string(doc), "`"+p.Path+"/`") {
			t.Errorf("docs/provisioners/k3s-bundle.mdx does not name identity path %s", p.Path)
		}
		if p.Keep != "" && !strings.Contains(string(doc), "except `"+p.Keep+"/`") {
			t.Errorf("docs/provisioners/k3s-bundle.mdx does not say %s keeps %s", p.Path, p.Keep)
		}
	}
}

// TestVerifyScriptWaitsForEveryImage checks the verify loop names each
// bundled image (quoted) and the timeout.
func TestVerifyScriptWaitsForEveryImage(t *testing.T) {
	c := &Config{BinDir: "/usr/local/bin", Verify: true, VerifyTimeout: 90e9}
	s := installScript(c, "/tmp/x", nil, []string{"127.0.0.1:5000/app:1", "docker.io/library/busybox:1"})
	for _, want := range []string{"for img in '127.0.0.1:5000/app:1' 'docker.io/library/busybox:1'", "k3s ctr -n k8s.io images ls", "after 90s", "clear_identity",
		// Type=notify with TimeoutStartSec=0: a blocking start would never
		// time out, so verify starts without blocking and waits for active.
		"systemctl start --no-block k3s", "systemctl show -p ActiveState --value k3s", "k3s.service not active after 90s"} {
		if !strings.Contains(s, want) {
			t.Errorf("verify script lacks %q", want)
		}
	}
}
