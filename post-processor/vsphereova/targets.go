package vsphereova

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/hashicorp/packer-plugin-sdk/template/interpolate"

	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovftarget"
)

// This file is the target stage of PostProcess: the export's descriptor in,
// one ova.Output per import target out (path, customized descriptor, files
// to drop, signer), for a single ova.PackAll that reads each disk once.

// targetOutput is one target's OVA, planned.
type targetOutput struct {
	target ovftarget.Target
	ova.Output
}

// outputPaths renders each target's OVA path by the rule documented on
// Config.OutputPath, and refuses two targets that land on the same file.
func (p *PostProcessor) outputPaths(artifact packersdk.Artifact, ovfPath string, targets []ovftarget.Target) ([]string, error) {
	perTarget := strings.Contains(p.config.OutputPath, ".Target")
	paths := make([]string, len(targets))
	seen := map[string]ovftarget.Target{}
	for i, t := range targets {
		path, err := p.outputPath(artifact, ovfPath, t)
		if err != nil {
			return nil, err
		}
		if i > 0 && !perTarget {
			path = withSuffix(path, "-"+string(t))
		}
		clean := filepath.Clean(path)
		if other, dup := seen[clean]; dup {
			return nil, fmt.Errorf("output %q gives targets %q and %q the same path %s: use {{.Target}} in output (e.g. \"dist/app-{{.Target}}.ova\") so each target's OVA has its own file",
				p.config.OutputPath, other, t, path)
		}
		seen[clean] = t
		paths[i] = path
	}
	return paths, nil
}

// withSuffix inserts suffix before a trailing ".ova" (any case), or appends it.
func withSuffix(path, suffix string) string {
	if ext := filepath.Ext(path); strings.EqualFold(ext, ".ova") {
		return strings.TrimSuffix(path, ext) + suffix + ext
	}
	return path + suffix
}

// outputPath renders the output option for one target, or gives the default
// next to the .ovf.
func (p *PostProcessor) outputPath(artifact packersdk.Artifact, ovfPath string, target ovftarget.Target) (string, error) {
	if p.config.OutputPath == "" {
		return strings.TrimSuffix(ovfPath, filepath.Ext(ovfPath)) + ".ova", nil
	}
	data := map[interface{}]interface{}{}
	if gd, ok := artifact.State("generated_data").(map[interface{}]interface{}); ok {
		for k, v := range gd {
			data[k] = v
		}
	}
	data["BuildName"] = p.config.PackerBuildName
	data["BuilderType"] = p.config.PackerBuilderType
	data["Target"] = string(target)
	ictx := p.config.ctx
	ictx.Data = data
	out, err := interpolate.Render(p.config.OutputPath, &ictx)
	if err != nil {
		return "", fmt.Errorf("output %q: %w", p.config.OutputPath, err)
	}
	if strings.TrimSpace(out) == "" {
		return "", fmt.Errorf("output %q renders to an empty path: give a file name such as \"{{.BuildName}}.ova\"", p.config.OutputPath)
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return "", fmt.Errorf("output %s is a folder: give the OVA's file name, e.g. %q", out, filepath.Join(out, filepath.Base(strings.TrimSuffix(ovfPath, filepath.Ext(ovfPath)))+".ova"))
	}
	return out, nil
}

// customizeTargets runs ovftarget.Customize once per target on the export's
// descriptor. A descriptor that comes back unchanged is not passed on, so
// the OVA carries the export's own (with ova's size corrections) exactly as
// without targets. Warnings go to the build output.
func (p *PostProcessor) customizeTargets(ui packersdk.Ui, descriptor []byte, targets []ovftarget.Target, paths []string) ([]targetOutput, error) {
	sign, err := p.signer()
	if err != nil {
		return nil, err
	}
	outs := make([]targetOutput, len(targets))
	for i, t := range targets {
		r, err := ovftarget.Customize(descriptor, t, &p.config.Customization)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", t, err)
		}
		for _, w := range r.Warnings {
			ui.Error("Warning: " + w)
		}
		if r.Descriptor, err = p.addDeploymentOptions(ui, r.Descriptor, t); err != nil {
			return nil, err
		}
		out := targetOutput{target: t, Output: ova.Output{Path: paths[i], Drop: r.Dropped, Sign: sign}}
		if len(r.Dropped) > 0 || string(r.Descriptor) != string(descriptor) {
			out.Descriptor = r.Descriptor
		}
		if len(r.Dropped) > 0 {
			ui.Say(fmt.Sprintf("Target %s: leaving out %s", t, strings.Join(r.Dropped, ", ")))
		}
		outs[i] = out
	}
	return outs, nil
}

// signer returns the manifest signer for the signing block, or nil. The key
// is read here, once, and only its signature leaves this function.
func (p *PostProcessor) signer() (func(string, []byte) ([]byte, error), error) {
	s := p.config.Signing
	if !s.Enabled() {
		return nil, nil
	}
	key, err := os.ReadFile(s.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("signing.private_key_file: %w", err)
	}
	cert, err := os.ReadFile(s.CertificateFile)
	if err != nil {
		return nil, fmt.Errorf("signing.certificate_file: %w", err)
	}
	alg := p.config.ManifestAlgorithm
	// Fail before any disk is read when key and certificate do not match.
	if _, err := ovf.SignManifest("check.mf", nil, alg, key, cert); err != nil {
		return nil, fmt.Errorf("signing (private_key_file %s, certificate_file %s): %w", s.PrivateKeyFile, s.CertificateFile, err)
	}
	return func(mfName string, mf []byte) ([]byte, error) {
		return ovf.SignManifest(mfName, mf, alg, key, cert)
	}, nil
}
