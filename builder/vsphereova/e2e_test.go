package vsphereova

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/sshtest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/vcsim"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// checkV2V runs virt-v2v's OVA parser on the packed OVA.
func checkV2V(t *testing.T, ovaPath string) string {
	t.Helper()
	v2v := testenv.LookPath(t, "virt-v2v")
	cmd := exec.Command(v2v, "-i", "ova", ovaPath, "--print-source")
	cmd.Env = append(os.Environ(), "LIBGUESTFS_BACKEND=direct")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("virt-v2v -i ova %s --print-source: %v\n%s", ovaPath, err, out)
	}
	return string(out)
}

// The example template, run by real Packer against the simulator, chained into
// the vsphere-ova post-processor.
func TestPackerDemoTemplate(t *testing.T) {
	env := packertest.New(t)
	src := makeOVA(t, "base", 1)
	srv := startSim(t, vcsim.ModeVCenter)
	srv.AutoGuestIP("10.1.2.3")
	work := t.TempDir()
	tpl, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "builder", "demo.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
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
	a.Close()
	res := checkV2V(t, ovaPath)
	if !strings.Contains(res, "demo-appliance") {
		t.Errorf("virt-v2v source lacks the VM name:\n%s", res)
	}
	if !strings.Contains(res, "memory: 2147483648") || !strings.Contains(res, "nr vCPUs: 2") {
		t.Errorf("virt-v2v source does not show RAM = 2048 MiB and 2 vCPUs:\n%s", res)
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
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
	env := packertest.New(t)
	ssh := sshtest.Start(t, sshtest.Options{})
	src := makeOVA(t, "base", 1)
	srv := startSim(t, vcsim.ModeESXi)
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
	checkV2V(t, filepath.Join(outDir, "ssh-build.ova"))
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v", vms)
	}
}

// A provisioner that exits 1 fails the build; the VM is destroyed and the
// export folder never appears.
func TestPackerProvisionerFailureCleansUp(t *testing.T) {
	env := packertest.New(t)
	ssh := sshtest.Start(t, sshtest.Options{})
	src := makeOVA(t, "base", 1)
	srv := startSim(t, vcsim.ModeVCenter)
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

// throttleProxy forwards TCP from a 127.0.0.1 port to target at about
// bytesPerSec in each direction, so an NFC upload lasts long enough to be
// interrupted. It stands in for a slow network to vSphere.
func throttleProxy(t *testing.T, target string, bytesPerSec int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	const chunk = 16 << 10
	delay := time.Duration(float64(time.Second) * chunk / float64(bytesPerSec))
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		buf := make([]byte, chunk)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
				time.Sleep(delay * time.Duration(n) / chunk)
			}
			if err != nil {
				break
			}
		}
		dst.Close()
		src.Close()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			wg.Add(2)
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
	return ln.Addr().String()
}

// SIGINT to packer while the disk uploads: the import lease is aborted, the
// VM destroyed, and no temporary or partial file remains.
func TestPackerCancelDuringUpload(t *testing.T) {
	env := packertest.New(t)
	src := makeOVAData(t, "big", 16)
	srv := startSim(t, vcsim.ModeESXi) // ESXi lease URLs use the host we connect to: the proxy
	srv.AutoGuestIP("10.9.8.7")
	proxy := throttleProxy(t, srv.Host, 2<<20)
	work := t.TempDir()
	outDir := filepath.Join(work, "out")
	tmp := filepath.Join(work, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	tpl, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "example", "builder", "demo.pkr.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "demo.pkr.hcl"), tpl, 0o644); err != nil {
		t.Fatal(err)
	}
	if res := env.Run(context.Background(), work, "init", "."); res.Err != nil {
		t.Fatalf("packer init: %v\n%s", res.Err, res.Output)
	}
	pr, pw := io.Pipe()
	cmd := env.Command(context.Background(), work, pw, "build", "-color=false",
		"-var", "vcenter_server="+proxy, "-var", "username="+srv.Username, "-var", "password="+srv.Password,
		"-var", "source_path="+src, "-var", "output_directory="+outDir, ".")
	cmd.Env = append(append([]string(nil), cmd.Env...), "TMPDIR="+tmp)
	// Packer re-executes itself under panicwrap, whose parent ignores SIGINT:
	// like Ctrl-C in a terminal, the signal goes to the whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var output strings.Builder
	signalled := make(chan bool, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			output.WriteString(line + "\n")
			if !sent && strings.Contains(line, "Uploading big-disk-0.vmdk") {
				sent = true
				time.Sleep(time.Second) // well inside the ~8 s upload
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
				signalled <- true
			}
		}
	}()
	werr := make(chan error, 1)
	go func() { werr <- cmd.Wait(); pw.Close() }()
	select {
	case err = <-werr:
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Fatal("packer did not exit within 3 minutes")
	}
	<-done
	if len(signalled) == 0 {
		t.Fatalf("the upload never started (or finished before SIGINT):\n%s", output.String())
	}
	if err == nil {
		t.Fatalf("interrupted build exited 0:\n%s", output.String())
	}
	if !strings.Contains(output.String(), `Destroying VM "demo-appliance"`) {
		t.Errorf("no VM cleanup in the output:\n%s", output.String())
	}
	if strings.Contains(output.String(), "Import complete") {
		t.Fatalf("the upload completed before SIGINT; the test did not interrupt it:\n%s", output.String())
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v\n%s", vms, output.String())
	}
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("output_directory exists after a cancelled build (err=%v)", err)
	}
	ents, _ := os.ReadDir(tmp)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "ovakit-") || strings.Contains(e.Name(), ".partial") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}
