package vsphereovaqemu

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/bootimage"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/packertest"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

var qemuPIDRE = regexp.MustCompile(`QEMU is running \(pid (\d+)`)

// TestPackerCancel sends SIGINT (Ctrl-C) to packer's process group while
// the guest boots, and (a second build) while the export is written:
// afterwards QEMU is gone (checked by its PID), the working disks are
// removed (nothing is left beside output_directory, nor in TMPDIR) and
// there is no output folder, so no half
// export.
func TestPackerCancel(t *testing.T) {
	env := packerEnv(t)
	base, img := baseOVA(t)
	t.Run("during boot", func(t *testing.T) { cancelAt(t, env, base, img, "Waiting for SSH") })
	t.Run("during export", func(t *testing.T) { cancelAt(t, env, base, img, "Exporting to") })
}

// cancelAt runs a build and interrupts it once its output shows trigger.
func cancelAt(t *testing.T, env *packertest.Env, base string, img *bootimage.Image, trigger string) {
	out := filepath.Join(t.TempDir(), "out")
	tmp := t.TempDir()
	env = withEnv(env, "TMPDIR="+tmp)
	dir := writeTemplate(t, pluginBlock+fmt.Sprintf(`
source "vsphere-ova-qemu" "cancel" {
  source_path          = %s
  ssh_username         = %s
  ssh_private_key_file = %s
  ssh_timeout          = "20m"
  shutdown_command     = "sudo systemctl poweroff"
  export {
    output_directory = %s
  }
}

build {
  sources = ["source.vsphere-ova-qemu.cancel"]
}
`, hclString(base), hclString(img.User), hclString(img.PrivateKeyPath), hclString(out)))
	var buf testenv.SyncBuffer
	cmd := env.Command(context.Background(), dir, &buf, "build", "-color=false", ".")
	// Its own process group, signalled as a whole as a terminal's Ctrl-C
	// is: packer's wrapper process leaves SIGINT to its child.
	packertest.SetProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(10 * time.Minute)
	var pid int
	for pid == 0 || !strings.Contains(buf.String(), trigger) {
		select {
		case err := <-done:
			t.Fatalf("packer ended before %q: %v\n%s", trigger, err, buf.String())
		case <-deadline:
			packertest.Kill(cmd)
			t.Fatalf("no %q in time:\n%s", trigger, buf.String())
		case <-time.After(200 * time.Millisecond):
		}
		if m := qemuPIDRE.FindStringSubmatch(buf.String()); m != nil {
			pid, _ = strconv.Atoi(m[1])
		}
	}
	if trigger == "Waiting for SSH" {
		if !isQEMU(pid) {
			t.Fatalf("pid %d is not a running QEMU before the cancel", pid)
		}
		time.Sleep(3 * time.Second) // the kernel is booting now
	} else {
		time.Sleep(1 * time.Second) // the first disk is being encoded now
	}
	if err := packertest.Interrupt(cmd); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("a cancelled build exited 0:\n%s", buf.String())
		}
	case <-time.After(2 * time.Minute):
		packertest.Kill(cmd)
		t.Fatalf("packer still running 2 minutes after SIGINT:\n%s", buf.String())
	}
	// QEMU's parent (the plugin) has exited, so init reaps it; give it a
	// moment.
	for i := 0; i < 50 && isQEMU(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if isQEMU(pid) {
		t.Errorf("QEMU (pid %d) still runs after the cancelled build", pid)
	}
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Errorf("TMPDIR holds %v after the cancelled build", entryNames(ents))
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Errorf("beside output_directory: %v after the cancelled build (the working folder?)", entryNames(ents))
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		ents, _ := os.ReadDir(out)
		t.Errorf("output folder exists after the cancelled build: %v %v", err, entryNames(ents))
	}
	t.Logf("packer output:\n%s", tail(buf.String(), 2000))
}

// isQEMU reports whether pid is a live QEMU process (not a zombie, not a
// reused PID of another program).
func isQEMU(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 0 && f[0] == "Z" {
		return false
	}
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return strings.Contains(filepath.Base(exe), "qemu")
}

// withEnv is a copy of env with extra environment variables.
func withEnv(env *packertest.Env, vars ...string) *packertest.Env {
	c := *env
	c.Env = append(append([]string(nil), env.Env...), vars...)
	return &c
}
