package packertest

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The signal reaches the whole group: were only sh interrupted, its child
// sleep would keep the output pipe open, and the run would last 30 s.
func TestInterruptOnSignalsTheGroup(t *testing.T) {
	cmd := exec.Command("sh", "-c", "echo ready; sleep 30; echo slept")
	start := time.Now()
	out, signalled, err := InterruptOn(t, cmd, "ready", 10*time.Millisecond, 60*time.Second)
	if !signalled {
		t.Fatalf("no signal sent; output %q", out)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Fatalf("SIGINT did not reach the child sleep (took %s)", took)
	}
	if err == nil || strings.Contains(out, "slept") {
		t.Errorf("interrupted command: output %q, err %v", out, err)
	}
}

func TestInterruptOnNoLineNoSignal(t *testing.T) {
	cmd := exec.Command("sh", "-c", "echo other")
	out, signalled, err := InterruptOn(t, cmd, "ready", time.Millisecond, 20*time.Second)
	if signalled || err != nil || out != "other\n" {
		t.Fatalf("got %q, signalled=%v, err=%v", out, signalled, err)
	}
}
