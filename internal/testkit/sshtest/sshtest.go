// Package sshtest runs a real OpenSSH server on 127.0.0.1 for tests, by
// default confined to a disposable Debian guest root so provisioners can
// install into /usr/local/bin, /etc and /var/lib without touching the host.
//
// Chroot mode runs the guest's own sshd under chroot(2) (instead of the
// host's sshd with ChrootDirectory): then the guest's /etc/passwd, sudo and
// shell apply, so test users exist only inside the guest, and every session,
// scp and sudo run against the guest root. The guest is a `debootstrap
// --variant=minbase` Debian bookworm, built once and cached (see CacheDir),
// copied with `cp -a` per test.
package sshtest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

// Options selects how the server is run.
type Options struct {
	// Chroot confines sessions to a fresh copy of the cached Debian guest.
	// Without it, the host's sshd serves the host's User (default root).
	Chroot bool
	// User to log in as; "" means root. In chroot mode a non-root user is
	// created inside the guest.
	User string
	// Sudo gives a non-root chroot user password-less sudo.
	Sudo bool
}

// Server is a running sshd.
type Server struct {
	Host           string
	Port           int
	User           string
	PrivateKeyPath string
	// Root is the guest root on the host ("" without Chroot).
	Root string
	// Log returns sshd's output so far (for failure messages).
	Log func() string
}

// Path returns the host path of a guest path.
func (s *Server) Path(guest string) string { return filepath.Join(s.Root, guest) }

// Start starts sshd and stops it (and every process left in the guest) when
// the test ends. It is long because the set-up is one sequence (key, guest
// root, user, config, start, wait for the port) whose steps each register
// their own cleanup; split, the order of those cleanups would be implicit.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	testenv.Require(t, testenv.Root, "sshd with a chroot guest")
	dir := t.TempDir()
	s := &Server{Host: "127.0.0.1", User: o.User}
	if s.User == "" {
		s.User = "root"
	}
	keyGen := testenv.LookPath(t, "ssh-keygen")
	s.PrivateKeyPath = filepath.Join(dir, "id_ed25519")
	run(t, keyGen, "-q", "-t", "ed25519", "-N", "", "-C", "sshtest", "-f", s.PrivateKeyPath)
	pub, err := os.ReadFile(s.PrivateKeyPath + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	var cfgDir, sshdPath string // as seen by sshd
	var argv []string
	if o.Chroot {
		testenv.LookPath(t, "chroot")
		pristine := Guest(t)
		s.Root = filepath.Join(dir, "root")
		start := time.Now()
		run(t, "cp", "-a", pristine, s.Root)
		t.Logf("sshtest: copied guest root in %s", time.Since(start).Round(time.Millisecond))
		t.Cleanup(func() { killGuestProcesses(t, s.Root) })
		cfgDir = "/etc/ssh/sshtest"
		if err := os.MkdirAll(s.Path(cfgDir), 0o700); err != nil {
			t.Fatal(err)
		}
		// sudo resolves the host name; without it every sudo prints a warning.
		host, _ := os.Hostname()
		writeFile(t, s.Path("/etc/hosts"), fmt.Sprintf("127.0.0.1 localhost %s\n", host), 0o644)
		if s.User != "root" {
			chrootRun(t, s.Root, "useradd", "-m", "-s", "/bin/bash", s.User)
			// A locked account ("!" password) may not log in even by key.
			chrootRun(t, s.Root, "usermod", "-p", "*", s.User)
			if o.Sudo {
				writeFile(t, s.Path("/etc/sudoers.d/"+s.User), s.User+" ALL=(ALL) NOPASSWD:ALL\n", 0o440)
			}
		}
		home := "/root"
		if s.User != "root" {
			home = "/home/" + s.User
		}
		if err := os.MkdirAll(s.Path(home+"/.ssh"), 0o700); err != nil {
			t.Fatal(err)
		}
		writeFile(t, s.Path(home+"/.ssh/authorized_keys"), string(pub), 0o600)
		if s.User != "root" {
			chrootRun(t, s.Root, "chown", "-R", s.User+":", home+"/.ssh")
		}
		if err := os.MkdirAll(s.Path("/run/sshd"), 0o755); err != nil {
			t.Fatal(err)
		}
		sshdPath = "/usr/sbin/sshd"
		argv = []string{"chroot", s.Root}
	} else {
		sshdPath = testenv.LookPath(t, "sshd")
		cfgDir = filepath.Join(dir, "sshd")
		if err := os.MkdirAll(cfgDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hostCfgDir := cfgDir
	if o.Chroot {
		hostCfgDir = s.Path(cfgDir)
	}
	run(t, keyGen, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(hostCfgDir, "host_key"))
	auth := ".ssh/authorized_keys"
	if !o.Chroot {
		writeFile(t, filepath.Join(hostCfgDir, "authorized_keys"), string(pub), 0o600)
		auth = filepath.Join(cfgDir, "authorized_keys")
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		cfg := fmt.Sprintf(`ListenAddress 127.0.0.1
Port %d
HostKey %s/host_key
AuthorizedKeysFile %s
AllowUsers %s
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
AcceptEnv LANG LC_*
`, port, cfgDir, auth, s.User)
		writeFile(t, filepath.Join(hostCfgDir, "sshd_config"), cfg, 0o600)
		if lastErr = s.launch(t, append(argv, sshdPath, "-D", "-e", "-f", cfgDir+"/sshd_config"), port); lastErr == nil {
			s.Port = port
			return s
		}
	}
	t.Fatalf("sshtest: sshd did not start: %v", lastErr)
	return nil
}

func (s *Server) launch(t testing.TB, argv []string, port int) error {
	var mu sync.Mutex
	var log bytes.Buffer
	ready := make(chan struct{})
	cmd := exec.Command(argv[0], argv[1:]...)
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pw.Close()
		pr.Close()
		return fmt.Errorf("start %v: %w", argv, err)
	}
	pw.Close()
	go func() {
		sc := bufio.NewScanner(pr)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			log.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), "Server listening on 127.0.0.1") {
				once.Do(func() { close(ready) })
			}
		}
		pr.Close()
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.Log = func() string { mu.Lock(); defer mu.Unlock(); return log.String() }
	select {
	case <-ready:
	case err := <-exited:
		return fmt.Errorf("sshd exited (%v) on port %d: %s", err, port, s.Log())
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("sshd not listening after 20s: %s", s.Log())
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.Log())
		}
	})
	return nil
}

// killGuestProcesses ends processes whose root is the guest (sessions and
// background programs the test started there), found by their /proc root link.
func killGuestProcesses(t testing.TB, root string) {
	for i := 0; i < 20; i++ {
		ents, _ := os.ReadDir("/proc")
		found := 0
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if r, err := os.Readlink(fmt.Sprintf("/proc/%d/root", pid)); err == nil && r == root {
				found++
				if p, err := os.FindProcess(pid); err == nil {
					_ = p.Kill()
				}
			}
		}
		if found == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("sshtest: processes still running in %s", root)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func chrootRun(t testing.TB, root string, args ...string) {
	t.Helper()
	run(t, "chroot", append([]string{root}, args...)...)
}

func writeFile(t testing.TB, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
