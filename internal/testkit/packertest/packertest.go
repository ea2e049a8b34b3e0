// Package packertest runs real Packer (built from its module into bin/packer by
// `make tools`) with this plugin installed the way users install it:
// `packer plugins install --path`, into a private plugin and config folder so
// tests never touch the user's own Packer set-up.
package packertest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Source is the plugin's source address, as templates name it in required_plugins.
const Source = "github.com/ovakit/vsphere-ova"

// Env is a Packer installation with this plugin installed.
type Env struct {
	Packer    string // path of the packer binary
	PluginBin string // the plugin binary that was installed
	ConfigDir string // PACKER_CONFIG_DIR
	PluginDir string // PACKER_PLUGIN_PATH
	Env       []string
}

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildDir  string
)

// pluginBinary builds the plugin once per test binary, into a temporary
// folder named after this process. A test binary has no exit hook to remove
// it, so each build first removes the folders of test processes that have
// ended (sweepBuildDirs).
func pluginBinary(root string) (string, error) {
	buildOnce.Do(func() {
		sweepBuildDirs(os.TempDir())
		buildDir, buildErr = os.MkdirTemp("", fmt.Sprintf("%s%d-", buildDirPrefix, os.Getpid()))
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "packer-plugin-vsphere-ova")
		cmd := exec.Command("go", "build", "-o", buildBin, ".")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build of the plugin: %v\n%s", err, out)
		}
	})
	return buildBin, buildErr
}

// FindPacker returns the packer binary: $PACKER_BIN, else <repo>/bin/packer.
// Every test that runs Packer goes through here, so under -short (`make unit`)
// it skips them all.
func FindPacker(t testing.TB) string {
	t.Helper()
	testenv.Require(t, testenv.Packer, "runs real Packer")
	if p := os.Getenv("PACKER_BIN"); p != "" {
		return p
	}
	p := filepath.Join(testenv.RepoRoot(t), "bin", "packer")
	if _, err := os.Stat(p); err != nil {
		testenv.Unavailable(t, "%s not found: run `make tools` to build Packer v1.15.0 from its module", p)
	}
	return p
}

// New builds the plugin, and installs it into a fresh Packer config and plugin
// folder with `packer plugins install --path`.
func New(t testing.TB) *Env {
	t.Helper()
	FindPacker(t) // skips before the build when Packer cannot run
	bin, err := pluginBinary(testenv.RepoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return NewWithPlugin(t, bin)
}

// NewWithPlugin installs the plugin binary bin (a release archive's, say)
// into a fresh Packer config and plugin folder with `packer plugins install
// --path`, as a user would.
func NewWithPlugin(t testing.TB, bin string) *Env {
	t.Helper()
	packer := FindPacker(t)
	base := t.TempDir()
	e := &Env{
		Packer:    packer,
		PluginBin: bin,
		ConfigDir: filepath.Join(base, "config"),
		PluginDir: filepath.Join(base, "plugins"),
	}
	for _, d := range []string{e.ConfigDir, e.PluginDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.Env = append(os.Environ(),
		"PACKER_CONFIG_DIR="+e.ConfigDir,
		"PACKER_PLUGIN_PATH="+e.PluginDir,
		"CHECKPOINT_DISABLE=1",
		"PACKER_NO_COLOR=1",
	)
	res := e.Run(context.Background(), base, "plugins", "install", "--path", bin, Source)
	if res.Err != nil {
		t.Fatalf("packer plugins install --path: %v\n%s", res.Err, res.Output)
	}
	return e
}

// InstallPlugin installs another plugin binary (HashiCorp's vSphere plugin,
// built by `make tools`) under its source address, as users do when
// `packer init` cannot reach GitHub.
func (e *Env) InstallPlugin(t testing.TB, bin, source string) {
	t.Helper()
	if res := e.Run(context.Background(), e.ConfigDir, "plugins", "install", "--path", bin, source); res.Err != nil {
		t.Fatalf("packer plugins install --path %s %s: %v\n%s", bin, source, res.Err, res.Output)
	}
}

// Result is a finished packer run.
type Result struct {
	Output   string // stdout and stderr, interleaved
	ExitCode int
	Err      error // non-nil when packer exited non-zero or could not start
}

// Command returns an unstarted packer command in dir, for tests that signal it.
// Output goes to w when non-nil.
func (e *Env) Command(ctx context.Context, dir string, w io.Writer, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.Packer, args...)
	cmd.Dir = dir
	cmd.Env = e.Env
	if w != nil {
		cmd.Stdout = w
		cmd.Stderr = w
	}
	return cmd
}

// Run runs packer with args in dir and waits for it.
func (e *Env) Run(ctx context.Context, dir string, args ...string) Result {
	var buf testenv.SyncBuffer
	cmd := e.Command(ctx, dir, &buf, args...)
	err := cmd.Run()
	res := Result{Output: buf.String(), Err: err}
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	return res
}

// Build runs `packer init` then `packer build -color=false <args> .` in dir and
// fails the test when either exits non-zero. It returns the build output.
func (e *Env) Build(t testing.TB, dir string, args ...string) string {
	t.Helper()
	ctx := context.Background()
	if res := e.Run(ctx, dir, "init", "."); res.Err != nil {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	full := append([]string{"build", "-color=false"}, args...)
	full = append(full, ".")
	res := e.Run(ctx, dir, full...)
	if res.Err != nil {
		t.Fatalf("packer %s: %v\n%s", strings.Join(full, " "), res.Err, res.Output)
	}
	return res.Output
}
