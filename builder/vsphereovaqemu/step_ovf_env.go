package vsphereovaqemu

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// stepOVFEnv writes the OVF environment (DSP0243 section 11) with the
// vApp properties: the OVF's defaults, overridden by `vapp { properties }`, as
// ovf-env.xml on an ISO 9660 CD labelled "OVF ENV", which is how vSphere's
// iso transport delivers it. Nothing is made when the OVF declares no
// properties and none are set.
type stepOVFEnv struct {
	config *VAppConfig
	dir    string
}

type envProperty struct{ key, value string }

func (s *stepOVFEnv) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	src := state.Get("source").(*ovasource.Source)
	props, err := s.properties(src)
	if err != nil {
		return halt(state, err)
	}
	if len(props) == 0 {
		return multistep.ActionContinue
	}
	xorriso, err := exec.LookPath("xorriso")
	if err != nil {
		return halt(state, fmt.Errorf("vapp.properties: the OVF environment CD needs xorriso (apt-get install xorriso): %w", err))
	}
	if s.dir, err = s.makeDir(state); err != nil {
		return halt(state, err)
	}
	root := filepath.Join(s.dir, "root")
	iso := filepath.Join(s.dir, "ovf-env.iso")
	if err := os.Mkdir(root, 0o700); err != nil {
		return halt(state, err)
	}
	if err := os.WriteFile(filepath.Join(root, "ovf-env.xml"), ovfEnvXML(props), 0o600); err != nil {
		return halt(state, err)
	}
	out, err := exec.CommandContext(ctx, xorriso, "-as", "mkisofs", "-quiet", "-J", "-r", "-V", "OVF ENV", "-o", iso, root).CombinedOutput()
	if err != nil {
		return halt(state, fmt.Errorf("making the OVF environment CD: %w: %s", err, strings.TrimSpace(string(out))))
	}
	ui.Say(fmt.Sprintf("OVF environment with %d vApp properties on a CD (iso transport)", len(props)))
	state.Put("ovf_env_path", iso)
	return multistep.ActionContinue
}

// properties merges the OVF's declared properties with the user's values,
// hiding password values from the logs.
func (s *stepOVFEnv) properties(src *ovasource.Source) ([]envProperty, error) {
	declared := map[string]bool{}
	values := map[string]string{}
	var order []string
	if vs := src.Envelope.VirtualSystem; vs != nil {
		for _, ps := range vs.Product {
			for _, p := range ps.Property {
				k := ps.Key(p)
				declared[k] = true
				order = append(order, k)
				if p.Default != nil {
					values[k] = *p.Default
				}
				if p.Password != nil && *p.Password {
					if v := s.config.Properties[k]; v != "" {
						packersdk.LogSecretFilter.Set(v)
					}
				}
			}
		}
	}
	var unknown []string
	for k, v := range s.config.Properties {
		if !declared[k] {
			unknown = append(unknown, k)
			continue
		}
		values[k] = v
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := append([]string(nil), order...)
		sort.Strings(known)
		return nil, fmt.Errorf("vapp.properties: %s not declared by the OVF's ProductSection (declared: %s); vSphere would reject them too",
			strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	var out []envProperty
	for _, k := range order {
		out = append(out, envProperty{k, values[k]})
	}
	return out, nil
}

// ovfEnvXML is the environment document as vSphere writes it (the
// PlatformSection names this builder instead of VMware ESXi).
func ovfEnvXML(props []envProperty) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Environment
     xmlns="http://schemas.dmtf.org/ovf/environment/1"
     xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
     xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"
     oe:id="">
   <PlatformSection>
      <Kind>QEMU (packer vsphere-ova-qemu)</Kind>
   </PlatformSection>
   <PropertySection>
`)
	for _, p := range props {
		fmt.Fprintf(&b, "         <Property oe:key=\"%s\" oe:value=\"%s\"/>\n", escapeXML(p.key), escapeXML(p.value))
	}
	b.WriteString("   </PropertySection>\n</Environment>\n")
	return []byte(b.String())
}

func escapeXML(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String() // EscapeText also escapes quotes (&#34;)
}

// makeDir makes the CD's folder in the build's working folder.
func (s *stepOVFEnv) makeDir(state multistep.StateBag) (string, error) {
	return os.MkdirTemp(filepath.Join(state.Get("work_dir").(string), ovfEnvSubdir), "cd-")
}

// Cleanup removes the CD.
func (s *stepOVFEnv) Cleanup(multistep.StateBag) {
	if s.dir != "" {
		atomicfile.RemoveTemp(s.dir)
		s.dir = ""
	}
}
