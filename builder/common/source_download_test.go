package common

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
	"github.com/ovakit/packer-plugin-vsphere-ova/ova"
	"github.com/ovakit/packer-plugin-vsphere-ova/ovfvm"
	"github.com/ovakit/packer-plugin-vsphere-ova/vmdk"
)

// testOVA is a one-disk OVA with a manifest, made by our own writers.
func testOVA(t *testing.T) []byte {
	t.Helper()
	dir := t.TempDir()
	disk := bytes.Repeat([]byte("ovakit-download-test "), 50000)
	href := ovfvm.DiskHref("base", 0)
	f, err := os.Create(filepath.Join(dir, href))
	if err != nil {
		t.Fatal(err)
	}
	st, err := vmdk.Write(context.Background(), f, bytes.NewReader(disk), int64(len(disk)), vmdk.Options{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	desc, err := ovfvm.Generate(&ovfvm.Config{Name: "base"}, []ovfvm.Disk{{Href: href, Size: st.Size, Capacity: st.Capacity, PopulatedSize: st.PopulatedSize}})
	if err != nil {
		t.Fatal(err)
	}
	ovfPath := filepath.Join(dir, "base.ovf")
	if err := os.WriteFile(ovfPath, desc, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "base.ova")
	if _, err := ova.Pack(context.Background(), ova.Options{OVFPath: ovfPath, Output: out, ChecksumAlgorithm: "sha256"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ovaServer serves the OVA at /base.ova and a checksum file at /SHA256SUMS
// on 127.0.0.1, counting the OVA's GETs.
func ovaServer(t *testing.T, data []byte) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var gets atomic.Int32
	sum := fmt.Sprintf("%x", sha256.Sum256(data))
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/base.ova":
			if r.Method == http.MethodGet {
				gets.Add(1)
			}
			http.ServeContent(w, r, "base.ova", time.Unix(1e9, 0), bytes.NewReader(data))
		case "/SHA256SUMS":
			fmt.Fprintf(w, "%s  base.ova\n", sum)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(hs.Close)
	return hs, &gets
}

// rawUi records what is said as it is: unlike BasicUi it does not apply
// LogSecretFilter, as Packer's UI across the plugin connection does not.
type rawUi struct {
	*packersdk.BasicUi
	out *bytes.Buffer
}

func (u *rawUi) Say(s string)     { u.out.WriteString(s + "\n") }
func (u *rawUi) Message(s string) { u.out.WriteString(s + "\n") }
func (u *rawUi) Error(s string)   { u.out.WriteString(s + "\n") }

// openSource runs the step once on a fresh state bag, as a build would.
func openSource(t *testing.T, s *StepOpenSource) (*ovasource.Source, string, error) {
	t.Helper()
	basic, _ := testUI()
	basic.PB = &packersdk.NoopProgressTracker{}
	out := new(bytes.Buffer)
	ui := &rawUi{BasicUi: basic, out: out}
	state := new(multistep.BasicStateBag)
	state.Put("ui", ui)
	a := s.Run(context.Background(), state)
	defer s.Cleanup(state)
	if a != multistep.ActionContinue {
		return nil, out.String(), state.Get("error").(error)
	}
	return state.Get("source").(*ovasource.Source), out.String(), nil
}

// A source_path URL is downloaded once into PACKER_CACHE_DIR: a second
// build with the same source_checksum opens the cached copy.
func TestSourceDownloadCached(t *testing.T) {
	data := testOVA(t)
	hs, gets := ovaServer(t, data)
	cache := t.TempDir()
	t.Setenv("PACKER_CACHE_DIR", cache)
	t.Setenv("TMPDIR", t.TempDir())
	for _, checksum := range []string{fmt.Sprintf("sha256:%x", sha256.Sum256(data)), "file:" + hs.URL + "/SHA256SUMS"} {
		gets.Store(0)
		for build := 1; build <= 2; build++ {
			src, out, err := openSource(t, &StepOpenSource{Path: hs.URL + "/base.ova", Checksum: checksum})
			if err != nil {
				t.Fatalf("%s, build %d: %v\n%s", checksum, build, err, out)
			}
			if src.OVFName != "base.ovf" || src.Manifest == nil {
				t.Errorf("%s, build %d: opened %q (manifest %v)", checksum, build, src.OVFName, src.Manifest != nil)
			}
		}
		if n := gets.Load(); n != 1 {
			t.Errorf("%s: %d downloads for two builds, want 1", checksum, n)
		}
	}
	ents, _ := filepath.Glob(filepath.Join(cache, "*.ova"))
	if len(ents) == 0 {
		t.Errorf("no download in PACKER_CACHE_DIR %s", cache)
	}
}

// none (and no source_checksum) downloads and opens without a check.
func TestSourceDownloadNoChecksum(t *testing.T) {
	hs, gets := ovaServer(t, testOVA(t))
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	for _, checksum := range []string{"none", ""} {
		if _, out, err := openSource(t, &StepOpenSource{Path: hs.URL + "/base.ova", Checksum: checksum}); err != nil {
			t.Errorf("checksum %q: %v\n%s", checksum, err, out)
		}
	}
	if gets.Load() == 0 {
		t.Error("nothing downloaded")
	}
}

// A wrong checksum is an error naming both options, and leaves no copy in
// the cache; the URL's secrets appear nowhere.
func TestSourceDownloadWrongChecksum(t *testing.T) {
	hs, _ := ovaServer(t, testOVA(t))
	cache := t.TempDir()
	t.Setenv("PACKER_CACHE_DIR", cache)
	wrong := "sha256:" + strings.Repeat("ab", 32)
	// What reaches PACKER_LOG: the plugin's standard logger.
	var logged bytes.Buffer
	prev := log.Writer()
	log.SetOutput(&logged)
	_, out, err := openSource(t, &StepOpenSource{Path: hs.URL + "/base.ova?token=Sekr3t-t0ken", Checksum: wrong})
	log.SetOutput(prev)
	if !strings.Contains(logged.String(), "base.ova") {
		t.Errorf("the download logged nothing about the URL, so the log check below proves nothing:\n%s", logged.String())
	}
	if strings.Contains(logged.String(), "Sekr3t") {
		t.Errorf("the URL's token reaches the log:\n%s", logged.String())
	}
	if err == nil {
		t.Fatal("a wrong checksum was accepted")
	}
	msg := err.Error()
	for _, want := range []string{"source_checksum " + wrong + " does not match the file downloaded from source_path " + hs.URL + "/base.ova (removed from the cache):", "Expected: " + strings.Repeat("ab", 32)} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg+out, "Sekr3t") {
		t.Errorf("the URL's token is shown:\n%s\n%s", msg, out)
	}
	if ents, _ := filepath.Glob(filepath.Join(cache, "*.ova")); len(ents) != 0 {
		t.Errorf("a copy that failed its checksum stays in the cache: %v", ents)
	}
}
