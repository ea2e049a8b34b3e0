package vsphereova

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/vcsim"
)

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
	env := packerEnv(t)
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
	if left, _ := atomicfile.Leftovers(work); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}

}
