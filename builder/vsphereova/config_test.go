package vsphereova

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hcldec"

	"github.com/ovakit/packer-plugin-vsphere-ova/builder/common"
	"github.com/ovakit/packer-plugin-vsphere-ova/driver/vsphere"
)

// The HCL option names are the builder's interface: splitting Config into
// sections must not rename, add or drop one. This list is the set before
// the split, with vsphere-clone's names since (vapp, export.image_files);
// the renamed properties and export.images stay in the spec, refused by
// Prepare with their new names. The SDK's packer_* and communicator
// options are left out.
var wantOptions = map[string][]string{
	"": {"CPUs", "RAM", "cluster", "configuration_parameters", "convert_to_template", "cpu_cores",
		"datacenter", "datastore", "deployment_option", "disable_shutdown", "disk_provisioning",
		"disk_size", "disk_sizes", "export", "folder", "host", "insecure_connection",
		"ip_settle_timeout", "ip_wait_address", "ip_wait_timeout", "keep_vm", "network_mapping",
		"password", "properties", "resource_pool", "shutdown_command", "shutdown_timeout",
		"source_checksum", "source_path", "username", "vapp", "vcenter_server", "vm_name"},
	"export": {"checksum_algorithm", "force", "image_files", "images", "manifest", "name", "nvram", "options",
		"output_directory", "output_format"},
	"network_mapping": {"name", "network"},
}

func TestHCLOptionNames(t *testing.T) {
	sdk := func(k string) bool {
		for _, p := range []string{"packer_", "ssh_", "winrm_", "temporary_key_pair_"} {
			if strings.HasPrefix(k, p) {
				return true
			}
		}
		return k == "communicator" || k == "pause_before_connecting"
	}
	var b Builder
	spec := b.ConfigSpec()
	var top []string
	for k := range spec {
		if !sdk(k) {
			top = append(top, k)
		}
	}
	checkNames(t, "top level", top, wantOptions[""])
	for _, block := range []string{"export", "network_mapping"} {
		var inner hcldec.Spec
		switch s := spec[block].(type) {
		case *hcldec.BlockSpec:
			inner = s.Nested
		case *hcldec.BlockListSpec:
			inner = s.Nested
		default:
			t.Fatalf("%s is a %T, want a block", block, spec[block])
		}
		var names []string
		for k := range inner.(hcldec.ObjectSpec) {
			names = append(names, k)
		}
		checkNames(t, block, names, wantOptions[block])
	}
}

func checkNames(t *testing.T, where string, got, want []string) {
	t.Helper()
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s options:\n got  %v\n want %v", where, got, want)
	}
}

func TestPrepareErrors(t *testing.T) {
	var b Builder
	_, _, err := b.Prepare(map[string]interface{}{
		"source_path":       "/nonexistent/x.ova",
		"disk_provisioning": "fat",
		"source_checksum":   "crc:1",
		"communicator":      "none",
		"ip_wait_address":   "10.0.0.0/99",
		"CPUs":              6,
		"cpu_cores":         4,
		"disk_sizes":        []int64{-1},
		"network_mapping":   []map[string]interface{}{{"name": "a", "network": "x"}, {"name": "a", "network": "y"}},
		"export":            map[string]interface{}{"manifest": "crc32", "name": "a/b"},
	})
	if err == nil {
		t.Fatal("Prepare accepted an invalid config")
	}
	for _, w := range []string{"vcenter_server is required", "username is required", "password is required",
		"source_path", "disk_provisioning \"fat\"", "source_checksum \"crc:1\"", "ip_wait_address",
		"CPUs = 6 is not a multiple of cpu_cores = 4", "disk_sizes[0] = -1", `OVF network "a" is mapped twice`,
		`export.manifest "crc32"`, `export.name "a/b"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}

func TestPrepareDefaults(t *testing.T) {
	src := filepath.Join(t.TempDir(), "base.ova")
	if err := os.WriteFile(src, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := prepared(t, map[string]interface{}{
		"vcenter_server": "vc.example.com", "username": "u", "password": "p",
		"source_path": src, "communicator": "none", "packer_build_name": "web",
		"disk_size": 100, "disk_sizes": []int64{0, 50},
		"export": map[string]interface{}{},
	})
	if !strings.HasPrefix(c.VMName, "packer-web-") {
		t.Errorf("vm_name default = %q", c.VMName)
	}
	e := c.Export
	if e.Name != c.VMName || e.OutputDir != "output-web" || e.Manifest != "sha256" {
		t.Errorf("export defaults: %+v", e)
	}
	if c.WaitTimeout.String() != "30m0s" || c.SettleTimeout.String() != "5s" || c.Timeout.String() != "5m0s" {
		t.Errorf("timeouts: ip_wait %s, settle %s, shutdown %s", c.WaitTimeout, c.SettleTimeout, c.Timeout)
	}
	if got := c.WantedDiskSizes(); len(got) != 2 || got[0] != 100 || got[1] != 50 {
		t.Errorf("diskSizes() = %v, want [100 50]", got)
	}
}

// An existing, non-empty output_directory is refused unless export.force or
// packer build -force says to write into it.
func TestPrepareOutputDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.ovf"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e := &ExportConfig{ExportConfig: common.ExportConfig{Name: "x", OutputDir: dir}}
	if errs := e.Prepare(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "is not empty") {
		t.Errorf("non-empty folder: %v", errs)
	}
	e.Force = true
	if errs := e.Prepare(); len(errs) != 0 {
		t.Errorf("with force: %v", errs)
	}
}

func TestServerURL(t *testing.T) {
	for in, want := range map[string]string{
		"vc.example.com":            "https://vc.example.com/sdk",
		"10.0.0.5:8443":             "https://10.0.0.5:8443/sdk",
		"https://vc.example.com/":   "https://vc.example.com/sdk",
		"https://vc.example.com/x/": "https://vc.example.com/x/",
	} {
		u, err := vsphere.ServerURL(in)
		if err != nil || u.String() != want {
			t.Errorf("vsphere.ServerURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	if _, err := vsphere.ServerURL("https://admin:pw@vc.example.com"); err == nil || !strings.Contains(err.Error(), "not in the URL") {
		t.Errorf("credentials in the URL: %v", err)
	}
}
