package vsphereova

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/simvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/vcsim"
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
	srv := simvm.Start(t, vcsim.ModeESXi) // ESXi lease URLs use the host we connect to: the proxy
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
	cmd := env.Command(context.Background(), work, nil, "build", "-color=false",
		"-var", "vcenter_server="+proxy, "-var", "username="+srv.Username, "-var", "password="+srv.Password,
		"-var", "source_path="+src, "-var", "output_directory="+outDir, ".")
	cmd.Env = append(append([]string(nil), cmd.Env...), "TMPDIR="+tmp)
	out, signalled, err := packertest.InterruptOn(t, cmd, "Uploading big-disk-0.vmdk", time.Second, 3*time.Minute)
	if !signalled {
		t.Fatalf("the upload never started (or finished before SIGINT):\n%s", out)
	}
	if err == nil {
		t.Fatalf("interrupted build exited 0:\n%s", out)
	}
	if !strings.Contains(out, `Destroying VM "demo-appliance"`) {
		t.Errorf("no VM cleanup in the output:\n%s", out)
	}
	if strings.Contains(out, "Import complete") {
		t.Fatalf("the upload completed before SIGINT; the test did not interrupt it:\n%s", out)
	}
	if vms := srv.VMNames(); len(vms) != 0 {
		t.Errorf("VMs left in the inventory: %v\n%s", vms, out)
	}
	if _, err := os.Stat(outDir); !os.IsNotExist(err) {
		t.Errorf("output_directory exists after a cancelled build (err=%v)", err)
	}
	if left, _ := atomicfile.Leftovers(work); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
