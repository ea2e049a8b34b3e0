package vsphereova

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	govmomiovf "github.com/vmware/govmomi/ovf"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/fixture"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

type opt = map[string]interface{}

// Configure names the bad deployment_option block and what is wrong.
func TestConfigureDeploymentOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []opt
		want []string
	}{
		{"no id", []opt{{"CPUs": 2}}, []string{"deployment_option[0]: id is required"}},
		{"bad token", []opt{{"id": "2 small"}}, []string{`deployment_option[0] (id "2 small"): id must start with a letter`}},
		{"duplicate", []opt{{"id": "small"}, {"id": "small"}}, []string{`deployment_option[1] (id "small"): the same id as deployment_option[0]`}},
		{"two defaults", []opt{{"id": "a", "default": true}, {"id": "b", "default": true}}, []string{"2 blocks set default = true"}},
		{"negative CPUs", []opt{{"id": "a", "CPUs": -1}}, []string{`deployment_option[0] (id "a"): CPUs = -1`}},
		{"negative RAM", []opt{{"id": "a", "RAM": -512}}, []string{`deployment_option[0] (id "a"): RAM = -512`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkConfigureRejects(t, map[string]interface{}{"deployment_option": tc.opts}, tc.want)
		})
	}
	configured(t, map[string]interface{}{"deployment_option": []opt{{"id": "small", "CPUs": 2, "RAM": 4096, "default": true}, {"id": "large.v2"}}})
	var p PostProcessor
	if _, ok := p.ConfigSpec()["deployment_option"]; !ok {
		t.Error("HCL2 spec lacks deployment_option (run go generate)")
	}
}

// Two targets from one export: the vsphere OVA offers both options, the
// workstation OVA is the default's size and the build output says what it
// left out.
func TestPackDeploymentOptions(t *testing.T) {
	testenv.Require(t, testenv.RealProgram, "packs a qemu-img export")
	const name = "sized-vm"
	_, files := export(t, fixture.ExportOptions{Name: name, DiskMiB: 8, WithManifest: true})
	art, uiOut := mustPack(t, files, map[string]interface{}{
		"target": []interface{}{"vsphere", "workstation"},
		"deployment_option": []opt{
			{"id": "small", "label": "Small", "CPUs": 2, "RAM": 2048},
			{"id": "large", "label": "Large", "CPUs": 8, "RAM": 8192, "default": true},
		},
	})
	if !strings.Contains(uiOut, `Warning: workstation: deployment options are a vSphere feature; this OVA describes the default option "large" only (8 CPUs, 8192 MiB), options small are left out`) {
		t.Errorf("no warning for the workstation target:\n%s", uiOut)
	}
	for _, o := range art.OVAs {
		env, err := govmomiovf.Unmarshal(bytes.NewReader(member(t, o.Path, name+".ovf")))
		if err != nil {
			t.Fatal(err)
		}
		var cpus []string
		for _, it := range env.VirtualSystem.VirtualHardware[0].Item {
			if it.ResourceType != nil && *it.ResourceType == 3 {
				c := ""
				if it.Configuration != nil {
					c = *it.Configuration
				}
				cpus = append(cpus, c+"="+strconv.FormatUint(uint64(*it.VirtualQuantity), 10))
			}
		}
		switch o.Target {
		case "vsphere":
			if env.DeploymentOption == nil || len(env.DeploymentOption.Configuration) != 2 || strings.Join(cpus, " ") != "=2 small=2 large=8" {
				t.Errorf("vsphere: options %+v, CPU items %q", env.DeploymentOption, cpus)
			}
		case "workstation":
			if env.DeploymentOption != nil || strings.Join(cpus, " ") != "=8" {
				t.Errorf("workstation: options %+v, CPU items %q; want the default's 8 CPUs only", env.DeploymentOption, cpus)
			}
		}
	}
}
