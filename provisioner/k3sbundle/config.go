//go:generate packer-sdc mapstructure-to-hcl2 -type Config,RegistryAuth
//go:generate packer-sdc struct-markdown

package k3sbundle

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/common"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/config"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"
)

// DefaultReleaseURL is where k3s publishes its release assets.
const DefaultReleaseURL = "https://github.com/k3s-io/k3s/releases/download"

// DefaultExecuteCommand runs the generated install script as root: directly when
// the SSH user is root (minimal images often lack sudo), otherwise through
// `sudo -n`, so a user without password-less sudo fails at once instead of
// waiting for a password prompt that never comes.
const DefaultExecuteCommand = `chmod 0700 {{.Path}} && if [ "$(id -u)" -eq 0 ]; then {{.Vars}} {{.Path}}; else sudo -n -E sh -c '{{.Vars}} {{.Path}}'; fi`

// RegistryAuth is one set of credentials for pulling `images`.
type RegistryAuth struct {
	// Registry host (and port) the credentials are for, as written in image
	// references, e.g. `registry.example.com:5000`. Use `index.docker.io` for
	// Docker Hub.
	Registry string `mapstructure:"registry" required:"true"`
	// User name for the registry.
	Username string `mapstructure:"username"`
	// Password or access token for the registry. It is masked in Packer's logs.
	Password string `mapstructure:"password"`
	// Bearer/identity token, used instead of a user name and password.
	Token string `mapstructure:"token"`
}

// Config is the configuration of the `vsphere-ova-k3s-bundle` provisioner.
type Config struct {
	common.PackerConfig `mapstructure:",squash"`

	// k3s release to install, e.g. `v1.31.4+k3s1`. Required unless both
	// `k3s_binary` and `airgap_images` (or `skip_airgap_images`) are given.
	K3sVersion string `mapstructure:"k3s_version"`
	// Target architecture of the guest: `amd64` (default) or `arm64`. Chooses
	// the release assets (`k3s` / `k3s-arm64`, `k3s-airgap-images-<arch>.tar.zst`,
	// `sha256sum-<arch>.txt`) and the platform of pulled `images`.
	Arch string `mapstructure:"arch"`
	// Base URL of the k3s releases; assets are fetched from
	// `<release_url>/<k3s_version with + escaped as %2B>/<asset>`. Defaults to
	// `https://github.com/k3s-io/k3s/releases/download`. Point it at an internal
	// mirror for air-gapped build hosts (`http://`, `https://` or `file://`).
	ReleaseURL string `mapstructure:"release_url"`
	// Local k3s binary to install instead of downloading it. Verified against
	// `checksum_file` when that is set, used as is otherwise.
	K3sBinary string `mapstructure:"k3s_binary"`
	// Local k3s air-gap image archive (`k3s-airgap-images-<arch>.tar.zst` or
	// `.tar`/`.tar.gz`) to install instead of downloading it.
	AirgapImages string `mapstructure:"airgap_images"`
	// Do not bundle the k3s air-gap system images (pause, coredns, traefik,
	// ...), e.g. because `image_archives` or `images` already carry them.
	SkipAirgapImages bool `mapstructure:"skip_airgap_images"`
	// Checksum file in `sha256sum` format (`<hex>  <asset name>` lines) that
	// every downloaded asset is verified against, as a local path or URL.
	// Defaults to the release's `sha256sum-<arch>.txt`.
	ChecksumFile string `mapstructure:"checksum_file"`
	// Folder on the build host where verified downloads are cached, keyed by
	// sha256. Defaults to `k3s-bundle` in Packer's cache folder
	// (`PACKER_CACHE_DIR`).
	CacheDir string `mapstructure:"cache_dir"`

	// Extra container images to bundle, by tag or digest (e.g.
	// `registry.example.com/app:1.2` or `...@sha256:...`). They are pulled on the
	// build host for `linux/<arch>` and written as one zstd-compressed OCI
	// archive that k3s imports at every start.
	Images []string `mapstructure:"images"`
	// File on the build host listing more image references, one per line
	// (blank lines and `#` comments are ignored).
	ImagesFile string `mapstructure:"images_file"`
	// Credentials for pulling `images`. Passwords and tokens are masked in logs.
	RegistryAuth []RegistryAuth `mapstructure:"registry_auth"`
	// Also use the build host's Docker config (`~/.docker/config.json`,
	// `DOCKER_CONFIG`) and its credential helpers for pulling `images`.
	UseDockerConfig bool `mapstructure:"use_docker_config"`
	// PEM files with extra CA certificates trusted when pulling `images`.
	RegistryCAFiles []string `mapstructure:"registry_ca_files"`
	// Registries (host[:port]) reached over plain HTTP or with unverified TLS
	// when pulling `images`. For test and lab registries only.
	InsecureRegistries []string `mapstructure:"insecure_registries"`
	// Image archives already on the build host (`docker save`, OCI layout
	// tarballs, optionally `.gz`/`.zst`), uploaded as they are to
	// `/var/lib/rancher/k3s/agent/images/`.
	ImageArchives []string `mapstructure:"image_archives"`

	// Kubernetes manifests (files, or folders whose `.yaml`/`.yml`/`.json` files
	// are taken) copied to `/var/lib/rancher/k3s/server/manifests/`, which k3s
	// applies at start.
	Manifests []string `mapstructure:"manifests"`
	// Helm chart archives (`.tgz`) copied to
	// `/var/lib/rancher/k3s/server/static/charts/`, each with a HelmChart
	// manifest `<name>-chart.yaml` in the manifests folder that installs it from
	// `https://%{KUBERNETES_API}%/static/charts/<file>` into `kube-system`.
	Charts []string `mapstructure:"charts"`
	// Local file installed as `/etc/rancher/k3s/registries.yaml` (mirrors and
	// registry credentials for the cluster). Mode 0600.
	Registries string `mapstructure:"registries"`
	// Local file installed as `/etc/rancher/k3s/config.yaml` (k3s server
	// options). Mode 0600.
	K3sConfig string `mapstructure:"config"`

	// Upstream `install.sh` on the build host. When set, it is run with
	// `INSTALL_K3S_SKIP_DOWNLOAD=true`, `INSTALL_K3S_SKIP_START=true` and
	// `INSTALL_K3S_BIN_DIR=<bin_dir>` after the binary is installed. When not
	// set, the provisioner installs the systemd unit, environment file,
	// `kubectl`/`crictl`/`ctr` links and the kill-all and uninstall scripts
	// itself.
	InstallScript string `mapstructure:"install_script"`
	// Extra environment for `install_script`, as `NAME=value` strings (e.g.
	// `INSTALL_K3S_EXEC=server --disable=traefik`).
	InstallScriptEnv []string `mapstructure:"install_script_env"`
	// Folder on the guest for the k3s binary and links. Defaults to
	// `/usr/local/bin`.
	BinDir string `mapstructure:"bin_dir"`
	// Command that runs the generated install script on the guest. `{{.Path}}`
	// is the script, `{{.Vars}}` its environment. The default runs it directly as
	// root and through `sudo -n` for other users:
	// `chmod 0700 {{.Path}} && if [ "$(id -u)" -eq 0 ]; then {{.Vars}} {{.Path}}; else sudo -n -E sh -c '{{.Vars}} {{.Path}}'; fi`.
	ExecuteCommand string `mapstructure:"execute_command"`
	// Staging folder on the guest for uploads, writable by the SSH user.
	// Defaults to `/tmp`. A private sub-folder is made and always removed.
	RemoteDir string `mapstructure:"remote_dir"`

	// Start k3s once on the guest, wait until the node is Ready and every
	// bundled image from `images`/`images_file` is listed by
	// `k3s ctr -n k8s.io images ls`, then stop it and remove the cluster
	// identity the start created (see the docs for the exact paths).
	Verify bool `mapstructure:"verify"`
	// Upper bound for `verify`, as a duration (`5m`, `90s`). Defaults to `5m`.
	VerifyTimeout time.Duration `mapstructure:"verify_timeout"`
	// Prepare the disk for export after installing: stop k3s, truncate logs
	// under `/var/log`, empty `/tmp` and `/var/tmp`, reset `/etc/machine-id`,
	// then `fstrim` free space (or zero it, see `zero_fill`).
	Cleanup bool `mapstructure:"cleanup"`
	// With `cleanup`, fill free space with zeros (a file written by `dd`, then
	// removed) instead of running `fstrim`, for disks that do not pass
	// discards through. Slow on large disks.
	ZeroFill bool `mapstructure:"zero_fill"`

	ctx interpolate.Context
}

var (
	versionRe = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+(-rc[0-9]+)?\+k3s[0-9]+$`)
	envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
)

// Prepare decodes and validates the configuration.
func (p *Provisioner) Prepare(raws ...interface{}) error {
	c := &p.config
	err := config.Decode(c, &config.DecodeOpts{
		PluginType:         "vsphere-ova-k3s-bundle",
		Interpolate:        true,
		InterpolateContext: &c.ctx,
		InterpolateFilter: &interpolate.RenderFilter{
			Exclude: []string{"execute_command"},
		},
	}, raws...)
	if err != nil {
		return fmt.Errorf("vsphere-ova-k3s-bundle: %w", err)
	}
	return c.prepare()
}

func (c *Config) prepare() error {
	var errs *packersdk.MultiError
	bad := func(format string, args ...any) {
		errs = packersdk.MultiErrorAppend(errs, fmt.Errorf(format, args...))
	}
	for _, a := range c.RegistryAuth {
		// Registered before any validation so no later error or log line can
		// carry the secret.
		if a.Password != "" {
			packersdk.LogSecretFilter.Set(a.Password)
		}
		if a.Token != "" {
			packersdk.LogSecretFilter.Set(a.Token)
		}
	}
	c.prepareRelease(bad)
	c.prepareGuest(bad)
	c.checkFiles(bad)
	c.checkLists(bad)
	if errs != nil && len(errs.Errors) > 0 {
		return errs
	}
	return nil
}

// prepareRelease defaults and checks what chooses the k3s release assets.
func (c *Config) prepareRelease(bad func(string, ...any)) {
	if c.Arch == "" {
		c.Arch = "amd64"
	}
	if c.Arch != "amd64" && c.Arch != "arm64" {
		bad("arch: %q is not supported; use \"amd64\" or \"arm64\"", c.Arch)
	}
	if c.ReleaseURL == "" {
		c.ReleaseURL = DefaultReleaseURL
	}
	c.ReleaseURL = strings.TrimRight(c.ReleaseURL, "/")
	if u, err := url.Parse(c.ReleaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") {
		bad("release_url: %q is not an http://, https:// or file:// URL", c.ReleaseURL)
	}
	needRelease := c.K3sBinary == "" || (c.AirgapImages == "" && !c.SkipAirgapImages)
	switch {
	case c.K3sVersion == "" && needRelease:
		bad("k3s_version: required to download k3s (e.g. \"v1.31.4+k3s1\"); or give k3s_binary plus airgap_images (or skip_airgap_images = true)")
	case c.K3sVersion != "" && !versionRe.MatchString(c.K3sVersion):
		bad("k3s_version: %q is not a k3s release tag; expected the form \"v1.31.4+k3s1\"", c.K3sVersion)
	}
}

// prepareGuest defaults and checks the guest paths, command and steps.
func (c *Config) prepareGuest(bad func(string, ...any)) {
	if c.BinDir == "" {
		c.BinDir = "/usr/local/bin"
	}
	if !path.IsAbs(c.BinDir) || strings.ContainsAny(c.BinDir, "'\"\\$` \n") {
		bad("bin_dir: %q must be an absolute guest path without quotes, spaces or shell characters", c.BinDir)
	}
	if c.RemoteDir == "" {
		c.RemoteDir = "/tmp"
	}
	if !path.IsAbs(c.RemoteDir) || strings.ContainsAny(c.RemoteDir, "'\"\\$` \n") {
		bad("remote_dir: %q must be an absolute guest path without quotes, spaces or shell characters", c.RemoteDir)
	}
	if c.ExecuteCommand == "" {
		c.ExecuteCommand = DefaultExecuteCommand
	}
	if c.VerifyTimeout == 0 {
		c.VerifyTimeout = 5 * time.Minute
	}
	if c.VerifyTimeout < 0 {
		bad("verify_timeout: must be positive, got %s", c.VerifyTimeout)
	}
	if c.ZeroFill && !c.Cleanup {
		bad("zero_fill: only takes effect with cleanup = true; set cleanup = true or remove zero_fill")
	}
	if c.CacheDir == "" {
		dir, err := packersdk.CachePath("k3s-bundle")
		if err != nil {
			bad("cache_dir: cannot find Packer's cache folder: %v; set cache_dir", err)
		}
		c.CacheDir = dir
	}
}

// checkFiles checks that every local file option names a readable file.
func (c *Config) checkFiles(bad func(string, ...any)) {
	files := map[string]string{
		"k3s_binary": c.K3sBinary, "airgap_images": c.AirgapImages, "images_file": c.ImagesFile,
		"registries": c.Registries, "config": c.K3sConfig, "install_script": c.InstallScript,
	}
	if c.ChecksumFile != "" && !strings.Contains(c.ChecksumFile, "://") {
		files["checksum_file"] = c.ChecksumFile
	}
	for opt, f := range files {
		if f == "" {
			continue
		}
		if fi, err := os.Stat(f); err != nil {
			bad("%s: cannot read %q: %v", opt, f, err)
		} else if fi.IsDir() {
			bad("%s: %q is a folder; give a file", opt, f)
		}
	}
	for opt, list := range map[string][]string{"image_archives": c.ImageArchives, "charts": c.Charts, "registry_ca_files": c.RegistryCAFiles} {
		for i, f := range list {
			if fi, err := os.Stat(f); err != nil {
				bad("%s[%d]: cannot read %q: %v", opt, i, f, err)
			} else if fi.IsDir() {
				bad("%s[%d]: %q is a folder; give a file", opt, i, f)
			}
		}
	}
	for i, f := range c.Charts {
		if !strings.HasSuffix(f, ".tgz") {
			bad("charts[%d]: %q is not a packaged chart; give the .tgz made by `helm package`", i, f)
		}
	}
	for i, f := range c.Manifests {
		if _, err := os.Stat(f); err != nil {
			bad("manifests[%d]: cannot read %q: %v", i, f, err)
		}
	}
}

// checkLists checks registry_auth and install_script_env entries.
func (c *Config) checkLists(bad func(string, ...any)) {
	for i, a := range c.RegistryAuth {
		if a.Registry == "" {
			bad("registry_auth[%d]: registry is required (the host[:port] of the image references)", i)
		}
		if a.Token == "" && a.Username == "" {
			bad("registry_auth[%d] (%s): give username and password, or token", i, a.Registry)
		}
	}
	for i, e := range c.InstallScriptEnv {
		if !envNameRe.MatchString(e) {
			bad("install_script_env[%d]: %q is not NAME=value", i, e)
		}
	}
	if len(c.InstallScriptEnv) > 0 && c.InstallScript == "" {
		bad("install_script_env: only used with install_script; set install_script or remove install_script_env")
	}
}
