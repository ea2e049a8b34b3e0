package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
)

func TestRun(t *testing.T) {
	qemuImg := testenv.LookPath(t, "qemu-img")
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"-dir", dir, "-name", "cli", "-disk-mib", "4", "-data-mib", "1", "-manifest=false", "-qemu-img", qemuImg}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.TrimSpace(out.String()) != filepath.Join(dir, "cli.ovf") {
		t.Errorf("printed %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "cli-disk-0.vmdk")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cli.mf")); !os.IsNotExist(err) {
		t.Errorf("-manifest=false wrote a manifest: %v", err)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"-dir", t.TempDir(), "extra"}, {"-disk-mib", "x"}} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), args, &out, &errb); code != 2 || errb.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and a usage message", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-dir", t.TempDir(), "-name", "a/b"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), `name "a/b"`) {
		t.Errorf("bad name: exit %d, stderr %q", code, errb.String())
	}
}
