package vsphereovalibrary

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/units"
	"github.com/vmware/govmomi/vmdk"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/testenv"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
)

// govc's own `library.info` (govmomi's cli, built from bench/govc at the
// version go.mod pins) lists the published item's files with the sizes of
// the OVA's members: what a vSphere admin checks after a publication. The
// simulator stores an uploaded VMDK as a descriptor plus a flat extent
// (vapi/simulator's openFile after govmomi's vmdk.Seek): the size it
// reports for a disk leaves out the sparse header and the descriptor
// sector that Seek consumed.
func TestGovcLibraryInfo(t *testing.T) {
	srv := startVAPI(t)
	goBin := testenv.LookPath(t, "go")
	govc := filepath.Join(t.TempDir(), "govc")
	build := exec.CommandContext(t.Context(), goBin, "build", "-o", govc, "./bench/govc")
	build.Dir = testenv.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./bench/govc: %v\n%s", err, out)
	}
	path := makeOVA(t, "app", 2, 512)
	if _, _, err := publish(t, srv, path, nil); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), govc, "library.info", "/appliances/app/*")
	cmd.Env = append(os.Environ(), "GOVC_URL="+srv.URL.String(), "GOVC_INSECURE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("govc library.info: %v\n%s", err, out)
	}
	sizes := map[string]string{} // file name -> Size line of govc
	var name string
	for _, line := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "Name":
			name = strings.TrimSpace(v)
		case "Size":
			sizes[name] = strings.TrimSpace(v)
		}
	}
	a, err := ova.OpenArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	n := 0
	for _, m := range a.Members() {
		if strings.HasSuffix(m.Name, ".mf") {
			continue // the manifest is checked on upload, not stored as a file
		}
		n++
		size := m.Size
		if strings.HasSuffix(m.Name, ".vmdk") {
			size -= int64(binary.Size(vmdk.Info{}.Header)) + vmdk.SectorSize
		}
		if want := units.ByteSize(size).String(); sizes[m.Name] != want {
			t.Errorf("govc library.info: %s has size %q, want %q (the OVA member's)\n%s", m.Name, sizes[m.Name], want, out)
		}
	}
	if len(sizes) != n {
		t.Errorf("govc library.info lists %d files, the OVA has %d besides its manifest:\n%s", len(sizes), n, out)
	}
}
