package k3sbundle

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// file is one file to upload and, unless dest is "", install.
type file struct {
	local string // host path, or "" when data is used
	data  []byte
	name  string // staging name (unique, shell-safe)
	dest  string // guest path
	mode  string // octal
	label string // for messages
}

// plan is what Provision uploads and installs, computed from the config and
// the local k3s assets, before anything is pulled or the guest is touched.
type plan struct {
	// files in upload and install order; a file without dest is only
	// staged (install_script).
	files []file
	// refs are the images to pull into bundle, the local image archive
	// that files installs as BundleImagesName ("" without images).
	refs   []string
	bundle string

	dests map[string]string // guest path -> label, to catch collisions
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9._+@-]+$`)

// newPlan lists the files to install: the k3s binary bin, the air-gap
// archive airgap ("" when skipped), the image bundle (to be written in
// tmpDir), then the config's archives, manifests, charts, registries and
// config, and the native install's files or install_script.
func newPlan(c *Config, bin, airgap, tmpDir string) (*plan, error) {
	p := &plan{dests: map[string]string{}}
	if err := p.add(file{local: bin, dest: path.Join(c.BinDir, "k3s"), mode: "0755", label: "k3s binary " + bin}); err != nil {
		return nil, err
	}
	if airgap != "" {
		name := airgapAsset(c.Arch)
		if c.AirgapImages != "" {
			name = filepath.Base(c.AirgapImages)
		}
		if err := p.add(file{local: airgap, dest: path.Join(ImagesDir, name), mode: "0644", label: "airgap_images " + airgap}); err != nil {
			return nil, err
		}
	}
	refs, err := imageRefs(c)
	if err != nil {
		return nil, err
	}
	if len(refs) > 0 {
		p.refs, p.bundle = refs, filepath.Join(tmpDir, BundleImagesName)
		if err := p.add(file{local: p.bundle, dest: path.Join(ImagesDir, BundleImagesName), mode: "0644", label: "images bundle"}); err != nil {
			return nil, err
		}
	}
	for _, step := range []func(*Config) error{p.addArchives, p.addManifests, p.addCharts, p.addEtc, p.addInstall} {
		if err := step(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// add appends f with a unique staging name, refusing guest file names the
// script cannot take and two files for one guest path.
func (p *plan) add(f file) error {
	base := path.Base(f.dest)
	if f.dest != "" && !safeName.MatchString(base) {
		return fmt.Errorf("%s: file name %q may only contain letters, digits and ._+@-; rename it", f.label, base)
	}
	if prev, ok := p.dests[f.dest]; ok && f.dest != "" {
		return fmt.Errorf("%s and %s would both be installed as %s; rename one", prev, f.label, f.dest)
	}
	p.dests[f.dest] = f.label
	f.name = fmt.Sprintf("f%02d-%s", len(p.files), base)
	p.files = append(p.files, f)
	return nil
}

func (p *plan) addArchives(c *Config) error {
	for i, a := range c.ImageArchives {
		if err := p.add(file{local: a, dest: path.Join(ImagesDir, filepath.Base(a)), mode: "0644", label: fmt.Sprintf("image_archives[%d] %s", i, a)}); err != nil {
			return err
		}
	}
	return nil
}

func (p *plan) addManifests(c *Config) error {
	for i, m := range c.Manifests {
		list, err := manifestFiles(m)
		if err != nil {
			return fmt.Errorf("manifests[%d]: %w", i, err)
		}
		for _, f := range list {
			if err := p.add(file{local: f, dest: path.Join(ManifestsDir, filepath.Base(f)), mode: "0644", label: fmt.Sprintf("manifests[%d] %s", i, f)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addCharts installs each chart with a HelmChart manifest that points k3s at it.
func (p *plan) addCharts(c *Config) error {
	for i, ch := range c.Charts {
		base := filepath.Base(ch)
		if err := p.add(file{local: ch, dest: path.Join(ChartsDir, base), mode: "0644", label: fmt.Sprintf("charts[%d] %s", i, ch)}); err != nil {
			return err
		}
		name := chartName(base)
		if err := p.add(file{data: helmChart(name, base), dest: path.Join(ManifestsDir, name+"-chart.yaml"), mode: "0644", label: fmt.Sprintf("HelmChart for charts[%d]", i)}); err != nil {
			return err
		}
	}
	return nil
}

// addEtc installs registries.yaml and config.yaml, 0600 as they may hold
// credentials.
func (p *plan) addEtc(c *Config) error {
	if c.Registries != "" {
		if err := p.add(file{local: c.Registries, dest: path.Join(EtcDir, "registries.yaml"), mode: "0600", label: "registries " + c.Registries}); err != nil {
			return err
		}
	}
	if c.K3sConfig != "" {
		if err := p.add(file{local: c.K3sConfig, dest: path.Join(EtcDir, "config.yaml"), mode: "0600", label: "config " + c.K3sConfig}); err != nil {
			return err
		}
	}
	return nil
}

// addInstall stages install_script (run, not installed) or adds the files
// of the native install.
func (p *plan) addInstall(c *Config) error {
	if c.InstallScript != "" {
		p.files = append(p.files, file{local: c.InstallScript, name: "install.sh", mode: "0700", label: "install_script " + c.InstallScript})
		return nil
	}
	for _, f := range nativeFiles(c.BinDir) {
		if err := p.add(f); err != nil {
			return err
		}
	}
	return nil
}

// imageRefs are `images` followed by the references of `images_file`.
func imageRefs(c *Config) ([]string, error) {
	refs := append([]string(nil), c.Images...)
	if c.ImagesFile != "" {
		fh, err := os.Open(c.ImagesFile)
		if err != nil {
			return nil, fmt.Errorf("images_file: %w", err)
		}
		defer fh.Close()
		more, err := ociarchive.ReadReferences(fh)
		if err != nil {
			return nil, fmt.Errorf("images_file %s: %w", c.ImagesFile, err)
		}
		refs = append(refs, more...)
	}
	return refs, nil
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
