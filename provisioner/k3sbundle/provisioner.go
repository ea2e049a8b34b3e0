// Package k3sbundle is the `k3s-bundle` provisioner (HCL
// `vsphere-ova-k3s-bundle`): an air-gapped k3s install with preloaded images,
// manifests and charts, for any builder and communicator.
package k3sbundle

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hcldec"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// Guest folders k3s reads at start.
const (
	ImagesDir    = "/var/lib/rancher/k3s/agent/images"
	ManifestsDir = "/var/lib/rancher/k3s/server/manifests"
	ChartsDir    = "/var/lib/rancher/k3s/server/static/charts"
	EtcDir       = "/etc/rancher/k3s"
	// BundleImagesName is the archive written from `images`/`images_file`.
	BundleImagesName = "k3s-bundle-images.tar.zst"
)

// Provisioner implements packersdk.Provisioner.
type Provisioner struct {
	config Config
	client *http.Client // nil: http.DefaultTransport
}

var _ packersdk.Provisioner = (*Provisioner)(nil)

// ConfigSpec returns the HCL2 spec of Config.
func (p *Provisioner) ConfigSpec() hcldec.ObjectSpec { return p.config.FlatMapstructure().HCL2Spec() }

// file is one file to upload and, unless dest is "", install.
type file struct {
	local string // host path, or "" when data is used
	data  []byte
	name  string // staging name (unique, shell-safe)
	dest  string // guest path
	mode  string // octal
	label string // for messages
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._+@-]+$`)

// plan collects the files to install. Temp files it writes (image bundle,
// chart manifests) go to tmpDir.
func (p *Provisioner) plan(ctx context.Context, ui packersdk.Ui, tmpDir string) ([]file, []string, error) {
	c := &p.config
	var files []file
	dests := map[string]string{}
	add := func(f file) error {
		base := path.Base(f.dest)
		if f.dest != "" && !safeName.MatchString(base) {
			return fmt.Errorf("%s: file name %q may only contain letters, digits and ._+@-; rename it", f.label, base)
		}
		if prev, ok := dests[f.dest]; ok && f.dest != "" {
			return fmt.Errorf("%s and %s would both be installed as %s; rename one", prev, f.label, f.dest)
		}
		dests[f.dest] = f.label
		f.name = fmt.Sprintf("f%02d-%s", len(files), base)
		files = append(files, f)
		return nil
	}
	bin, airgap, err := p.resolveAssets(ctx, ui)
	if err != nil {
		return nil, nil, err
	}
	if err := add(file{local: bin, dest: path.Join(c.BinDir, "k3s"), mode: "0755", label: "k3s binary " + bin}); err != nil {
		return nil, nil, err
	}
	if airgap != "" {
		name := airgapAsset(c.Arch)
		if c.AirgapImages != "" {
			name = filepath.Base(c.AirgapImages)
		}
		if err := add(file{local: airgap, dest: path.Join(ImagesDir, name), mode: "0644", label: "airgap_images " + airgap}); err != nil {
			return nil, nil, err
		}
	}
	refs, err := p.imageRefs()
	if err != nil {
		return nil, nil, err
	}
	var bundled []string
	if len(refs) > 0 {
		res, err := p.bundleImages(ctx, ui, refs, filepath.Join(tmpDir, BundleImagesName))
		if err != nil {
			return nil, nil, err
		}
		for _, im := range res.Images {
			bundled = append(bundled, im.Reference)
		}
		if err := add(file{local: res.Path, dest: path.Join(ImagesDir, BundleImagesName), mode: "0644", label: "images bundle"}); err != nil {
			return nil, nil, err
		}
	}
	for i, a := range c.ImageArchives {
		if err := add(file{local: a, dest: path.Join(ImagesDir, filepath.Base(a)), mode: "0644", label: fmt.Sprintf("image_archives[%d] %s", i, a)}); err != nil {
			return nil, nil, err
		}
	}
	for i, m := range c.Manifests {
		list, err := manifestFiles(m)
		if err != nil {
			return nil, nil, fmt.Errorf("manifests[%d]: %w", i, err)
		}
		for _, f := range list {
			if err := add(file{local: f, dest: path.Join(ManifestsDir, filepath.Base(f)), mode: "0644", label: fmt.Sprintf("manifests[%d] %s", i, f)}); err != nil {
				return nil, nil, err
			}
		}
	}
	for i, ch := range c.Charts {
		base := filepath.Base(ch)
		if err := add(file{local: ch, dest: path.Join(ChartsDir, base), mode: "0644", label: fmt.Sprintf("charts[%d] %s", i, ch)}); err != nil {
			return nil, nil, err
		}
		name := chartName(base)
		if err := add(file{data: []byte(helmChart(name, base)), dest: path.Join(ManifestsDir, name+"-chart.yaml"), mode: "0644", label: fmt.Sprintf("HelmChart for charts[%d]", i)}); err != nil {
			return nil, nil, err
		}
	}
	if c.Registries != "" {
		if err := add(file{local: c.Registries, dest: path.Join(EtcDir, "registries.yaml"), mode: "0600", label: "registries " + c.Registries}); err != nil {
			return nil, nil, err
		}
	}
	if c.K3sConfig != "" {
		if err := add(file{local: c.K3sConfig, dest: path.Join(EtcDir, "config.yaml"), mode: "0600", label: "config " + c.K3sConfig}); err != nil {
			return nil, nil, err
		}
	}
	if c.InstallScript != "" {
		files = append(files, file{local: c.InstallScript, name: "install.sh", mode: "0700", label: "install_script " + c.InstallScript})
	} else {
		for _, f := range nativeFiles(c.BinDir) {
			if err := add(f); err != nil {
				return nil, nil, err
			}
		}
	}
	return files, bundled, nil
}

func (p *Provisioner) imageRefs() ([]string, error) {
	refs := append([]string(nil), p.config.Images...)
	if p.config.ImagesFile != "" {
		fh, err := os.Open(p.config.ImagesFile)
		if err != nil {
			return nil, fmt.Errorf("images_file: %w", err)
		}
		defer fh.Close()
		more, err := ociarchive.ReadReferences(fh)
		if err != nil {
			return nil, fmt.Errorf("images_file %s: %w", p.config.ImagesFile, err)
		}
		refs = append(refs, more...)
	}
	return refs, nil
}

func (p *Provisioner) bundleImages(ctx context.Context, ui packersdk.Ui, refs []string, out string) (*ociarchive.Result, error) {
	c := &p.config
	o := ociarchive.Options{
		References:      refs,
		Platform:        "linux/" + c.Arch,
		UseDockerConfig: c.UseDockerConfig,
		CAFiles:         c.RegistryCAFiles,
		Insecure:        c.InsecureRegistries,
		Logf:            func(format string, args ...any) { ui.Sayf(format, args...) },
	}
	for _, a := range c.RegistryAuth {
		o.Auth = append(o.Auth, ociarchive.Auth{Registry: a.Registry, Username: a.Username, Password: a.Password, Token: a.Token})
	}
	last := map[string]int64{}
	o.Progress = func(ref string, done, total int64) {
		// One line per 25% per image keeps build logs readable.
		if total <= 0 {
			return
		}
		step := done * 4 / total
		if step > last[ref] || done == total && last[ref] < 4 {
			last[ref] = step
			ui.Sayf("Pulling %s: %d/%d bytes", ref, done, total)
		}
	}
	ui.Sayf("Bundling %d image(s) for linux/%s", len(refs), c.Arch)
	res, err := ociarchive.Write(ctx, out, o)
	if err != nil {
		return nil, fmt.Errorf("bundle images: %w", err)
	}
	ui.Sayf("Image bundle: %d image(s), %d blob(s), %d bytes", len(res.Images), res.Blobs, res.Size)
	return res, nil
}

// manifestFiles expands a manifests entry: a file, or a folder's
// .yaml/.yml/.json files (recursively, sorted).
func manifestFiles(p string) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	var out []string
	err = filepath.WalkDir(p, func(f string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(f)) {
		case ".yaml", ".yml", ".json":
			if !d.IsDir() {
				out = append(out, f)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("folder %s has no .yaml, .yml or .json files", p)
	}
	sort.Strings(out)
	return out, nil
}

var nonDNS = regexp.MustCompile(`[^a-z0-9-]+`)

// chartName turns "my_chart-1.2.3.tgz" into a valid HelmChart name.
func chartName(file string) string {
	n := nonDNS.ReplaceAllString(strings.ToLower(strings.TrimSuffix(file, ".tgz")), "-")
	n = strings.Trim(n, "-")
	if len(n) > 53 {
		n = strings.TrimRight(n[:53], "-")
	}
	if n == "" {
		n = "chart"
	}
	return n
}

func helmChart(name, file string) string {
	return fmt.Sprintf(`# Generated by the vsphere-ova-k3s-bundle Packer provisioner: installs the
# bundled chart %[2]s from the k3s API server (no registry or internet needed).
apiVersion: helm.cattle.io/v1
kind: HelmChart
metadata:
  name: %[1]s
  namespace: kube-system
spec:
  chart: https://%%{KUBERNETES_API}%%/static/charts/%[2]s
  targetNamespace: kube-system
`, name, file)
}

// Provision uploads everything to a private staging folder, then runs one
// generated script as root that installs, verifies and cleans up, and rolls
// the guest back if any step fails.
func (p *Provisioner) Provision(ctx context.Context, ui packersdk.Ui, comm packersdk.Communicator, generated map[string]interface{}) error {
	c := &p.config
	ui.Say("Installing k3s air-gap bundle")
	tmpDir, err := os.MkdirTemp("", "k3s-bundle-")
	if err != nil {
		return fmt.Errorf("create temp folder: %w", err)
	}
	defer os.RemoveAll(tmpDir)
	files, images, err := p.plan(ctx, ui, tmpDir)
	if err != nil {
		return err
	}
	staging := path.Join(c.RemoteDir, "k3s-bundle-"+randomHex())
	if err := runRemote(ctx, comm, ui, "mkdir -m 0700 "+staging, false); err != nil {
		return fmt.Errorf("create staging folder on the guest (remote_dir %s): %w", c.RemoteDir, err)
	}
	// Whatever happens next, the staging folder goes; the script removes it
	// too, this is for failures before or around it. Root-owned leftovers
	// are removed by the script's own rollback.
	scriptStarted := false
	defer func() {
		if scriptStarted && ctx.Err() != nil {
			// The script may still be rolling back from its journal in the
			// staging folder; it removes the folder itself.
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60e9)
		defer cancel()
		_ = runRemote(cctx, comm, ui, "rm -rf "+staging, true)
	}()
	for _, f := range files {
		if err := upload(ctx, comm, ui, f, staging); err != nil {
			return err
		}
	}
	script := installScript(c, staging, files, images)
	scriptPath := path.Join(staging, "k3s-bundle.sh")
	if err := upload(ctx, comm, ui, file{data: []byte(script), name: "k3s-bundle.sh", label: "install script"}, staging); err != nil {
		return err
	}
	ictx := &interpolate.Context{Data: map[string]string{"Path": scriptPath, "Vars": ""}}
	cmd, err := interpolate.Render(c.ExecuteCommand, ictx)
	if err != nil {
		return fmt.Errorf("execute_command: %w", err)
	}
	ui.Say("Running the k3s-bundle install script on the guest")
	// A cancelled build cannot signal the root-owned script through SSH, so
	// it drops a marker the script polls between steps; the script then rolls
	// back and exits, and we wait for that before removing the staging folder.
	cancelled := func() {
		ui.Say("Build cancelled: asking the guest script to roll back")
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30e9)
		defer cancel()
		_ = runRemote(cctx, comm, ui, "touch "+path.Join(staging, "cancel"), true)
	}
	scriptStarted = true
	if err := runRemoteCancel(ctx, comm, ui, cmd, false, cancelled, 2*time.Minute); err != nil {
		return fmt.Errorf("install k3s bundle: %w", err)
	}
	ui.Say("k3s bundle installed")
	return nil
}

// upload sends a file to <staging>/<name>.part and renames it, so a broken
// transfer never leaves a complete-looking file.
func upload(ctx context.Context, comm packersdk.Communicator, ui packersdk.Ui, f file, staging string) error {
	var r io.ReadCloser
	var size int64
	if f.local != "" {
		fh, err := os.Open(f.local)
		if err != nil {
			return fmt.Errorf("%s: %w", f.label, err)
		}
		fi, err := fh.Stat()
		if err != nil {
			fh.Close()
			return fmt.Errorf("%s: %w", f.label, err)
		}
		r, size = fh, fi.Size()
	} else {
		r, size = io.NopCloser(bytes.NewReader(f.data)), int64(len(f.data))
	}
	defer r.Close()
	dst := path.Join(staging, f.name)
	if size > 1<<20 {
		r = ui.TrackProgress(path.Base(f.dest), 0, size, r)
		defer r.Close()
	}
	if err := comm.Upload(dst+".part", readerCtx{ctx, r}, nil); err != nil {
		return fmt.Errorf("upload %s to %s: %w", f.label, dst, err)
	}
	if err := runRemote(ctx, comm, ui, "mv -f "+dst+".part "+dst, true); err != nil {
		return fmt.Errorf("upload %s: %w", f.label, err)
	}
	return nil
}

// runRemote runs a command and returns an error naming it, its exit code and
// the tail of its stderr. Unless quiet, output lines go to the UI.
func runRemote(ctx context.Context, comm packersdk.Communicator, ui packersdk.Ui, command string, quiet bool) error {
	return runRemoteCancel(ctx, comm, ui, command, quiet, nil, 0)
}

// runRemoteCancel is runRemote that, when ctx ends, calls onCancel and waits
// up to grace for the command to finish (its own rollback) before returning.
func runRemoteCancel(ctx context.Context, comm packersdk.Communicator, ui packersdk.Ui, command string, quiet bool, onCancel func(), grace time.Duration) error {
	var stdout, stderr tailBuffer
	rc := &packersdk.RemoteCmd{Command: command, Stdout: &stdout, Stderr: &stderr}
	if !quiet {
		rc.Stdout = io.MultiWriter(&stdout, &lineUi{ui: ui})
		rc.Stderr = io.MultiWriter(&stderr, &lineUi{ui: ui})
	}
	if err := comm.Start(ctx, rc); err != nil {
		return fmt.Errorf("start remote command %q: %w", command, err)
	}
	done := make(chan int, 1)
	go func() { done <- rc.Wait() }()
	var code int
	select {
	case code = <-done:
	case <-ctx.Done():
		if onCancel != nil {
			onCancel()
			select {
			case <-done:
			case <-time.After(grace):
			}
		}
		return fmt.Errorf("remote command %q: %w", command, ctx.Err())
	}
	if code != 0 {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return fmt.Errorf("remote command %q exited with status %d: %s", command, code, msg)
	}
	return nil
}

// tailBuffer keeps the last 4 KiB written.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = t.b[len(t.b)-4096:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// lineUi forwards complete lines to the UI.
type lineUi struct {
	ui  packersdk.Ui
	buf []byte
}

func (l *lineUi) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.ui.Say(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
