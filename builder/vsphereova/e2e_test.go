package vsphereova

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/virtv2v"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// packerEnv is real Packer with the plugin installed; heavy, so not under
// -short.
func packerEnv(t *testing.T) *packertest.Env {
	t.Helper()
	testenv.Require(t, testenv.Packer, "runs real Packer")
	return packertest.New(t)
}

// The example template, run by real Packer against the simulator, chained into
// the vsphere-ova post-processor.
func TestPackerDemoTemplate(t *testing.T) {
	env := packerEnv(t)
	src := makeOVA(t, "base", 1)
	srv := simvm.Start(t, vcsim.ModeVCenter)
	srv.AutoGuestIP("10.1.2.3")
	work := t.TempDir()
	tpl, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "builder", "demo.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	// Without `sensitive = true` Packer itself does not hide the value: only
	// the plugin's own secret filter keeps it out of the log then.
	tpl = bytes.Replace(tpl, []byte("sensitive = true"), []byte("sensitive = false"), 1)
	if err := os.WriteFile(filepath.Join(work, "demo.pkr.hcl"), tpl, 0o644); err != nil {
		t.Fatal(err)
	}
	outDir := filepath.Join(work, "out")
	// The simulator accepts any login; a distinctive password makes a leak
	// into Packer's (debug) log detectable.
	const password = "Sup3r-s3cret-Pw-4711"
	env.Env = append(env.Env, "PACKER_LOG=1")
	out := env.Build(t, work,
		"-var", "vcenter_server="+srv.Host, "-var", "username="+srv.Username, "-var", "password="+password,
		"-var", "source_path="+src, "-var", "output_directory="+outDir, "-var", "cluster=DC0_C0")
	if strings.Contains(out, password) {
		t.Errorf("packer output or log contains the password")
	}
	if !strings.Contains(out, "[DEBUG]") && !strings.Contains(out, "[INFO]") {
		t.Errorf("PACKER_LOG=1 produced no log, so the password check proves nothing")
	}
	if !strings.Contains(out, "IP address: 10.1.2.3") {
		t.Errorf("packer output lacks the guest IP:\n%s", out)
	}
	ovaPath := filepath.Join(outDir, "demo-appliance.ova")
	a, err := ova.OpenArchive(ovaPath)
	if err != nil {
		t.Fatalf("the post-processor's OVA: %v\n%s", err, out)
	}
	if a.DescriptorName() != "demo-appliance.ovf" {
		t.Errorf("OVA descriptor = %q", a.DescriptorName())
	}
	d, err := a.Descriptor()
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The template's hardware, which differs from the fixture's in each value.
	hw := readHardware(t, d.Bytes())
	if hw.CPUs != 4 || hw.CoresPerSocket != 2 || hw.MemoryMB != 3072 {
		t.Errorf("OVA hardware: %d vCPUs, %d cores/socket, %d MiB; want the template's 4, 2, 3072 (fixture: %d, %d, %d)",
			hw.CPUs, hw.CoresPerSocket, hw.MemoryMB, fixtureCPUs, fixtureCores, fixtureMemoryMB)
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
	t.Run("virt-v2v", func(t *testing.T) {
		virtv2v.Check(t, ovaPath, "demo-appliance", "nr vCPUs: 4", "cores/socket: 2", "memory: 3221225472")
	})
}

const sshTemplate = `
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

source "vsphere-ova" "ssh" {
  vcenter_server       = %q
  username             = %q
  password             = %q
  insecure_connection  = true
  source_path          = %q
  vm_name              = "ssh-build"
  ip_settle_timeout    = "100ms"
  ip_wait_timeout      = "1m"
  communicator         = "ssh"
  ssh_host             = %q
  ssh_port             = %d
  ssh_username         = %q
  ssh_private_key_file = %q
  ssh_timeout          = "1m"
  export {
    output_directory = %q
  }
}

build {
  sources = ["source.vsphere-ova.ssh"]
  provisioner "shell" {
    inline = [%s]
  }
  post-processor "vsphere-ova" {}
}
`

func writeSSHTemplate(t *testing.T, srv *vcsim.Server, src string, ssh *sshtest.Server, outDir, inline string) string {
	t.Helper()
	dir := t.TempDir()
	tpl := fmt.Sprintf(sshTemplate, srv.Host, srv.Username, srv.Password, src, ssh.Host, ssh.Port, ssh.User, ssh.PrivateKeyPath, outDir, inline)
	if err := os.WriteFile(filepath.Join(dir, "build.pkr.hcl"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The SSH communicator reaches a real sshd on 127.0.0.1 (ssh_host) and runs
// a shell provisioner whose effect is checked on disk.
func TestPackerSSHProvisioner(t *testing.T) {
	env := packerEnv(t)
	ssh := sshtest.Start(t, sshtest.Options{})
	src := makeOVA(t, "base", 1)
	srv := simvm.Start(t, vcsim.ModeESXi)
	srv.AutoGuestIP("10.9.8.7")
	marker := filepath.Join(t.TempDir(), "marker")
	outDir := filepath.Join(t.TempDir(), "out")
	dir := writeSSHTemplate(t, srv, src, ssh, outDir, fmt.Sprintf(`"echo provisioned-$((6*7)) > %s"`, marker))
	out := env.Build(t, dir)
	data, err := os.ReadFile(marker)
	if err != nil {
		t.Fatalf("the shell provisioner left no marker: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(data)) != "provisioned-42" {
		t.Errorf("marker = %q", data)
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
	t.Run("virt-v2v", func(t *testing.T) { virtv2v.PrintSource(t, filepath.Join(outDir, "ssh-build.ova")) })
}

// A provisioner that exits 1 fails the build; the VM is destroyed and the
// export folder never appears.
func TestPackerProvisionerFailureCleansUp(t *testing.T) {
	env := packerEnv(t)
	ssh := sshtest.Start(t, sshtest.Options{})
	src := makeOVA(t, "base", 1)
	srv := simvm.Start(t, vcsim.ModeVCenter)
	srv.AutoGuestIP("10.9.8.7")
	outDir := filepath.Join(t.TempDir(), "out")
	dir := writeSSHTemplate(t, srv, src, ssh, outDir, `"echo failing on purpose", "exit 1"`)
	// The simulator's vCenter has a cluster and a standalone host: pick one.
	tplPath := filepath.Join(dir, "build.pkr.hcl")
	tpl, _ := os.ReadFile(tplPath)
	tpl = []byte(strings.Replace(string(tpl), `vm_name              = "ssh-build"`, `vm_name = "ssh-build"
  cluster = "DC0_C0"`, 1))
	if err := os.WriteFile(tplPath, tpl, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := env.Run(context.Background(), dir, "init", "."); res.Err != nil {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	res := env.Run(context.Background(), dir, "build", "-color=false", ".")
	if res.ExitCode == 0 {
		t.Fatalf("build with a failing provisioner succeeded:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, "failing on purpose") {
		t.Errorf("the provisioner did not run:\n%s", res.Output)
	}
	if !strings.Contains(res.Output, `Destroying VM "ssh-build"`) {
		t.Errorf("no VM cleanup in the output:\n%s", res.Output)
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("output_directory exists after a failed build (err=%v)", err)
	}
}
