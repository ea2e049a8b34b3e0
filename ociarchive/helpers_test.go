package ociarchive_test

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/zstd"

	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

// The registry password of the tests: it must appear in no error, log line
// or progress message.
const secret = "s3cr3t-Pa55word-never-logged"

// capture records Logf and Progress output to check it never holds secrets.
type capture struct {
	mu       sync.Mutex
	lines    []string
	progress int
}

func (c *capture) logf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, fmt.Sprintf(format, args...))
}

func (c *capture) prog(ref string, done, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.progress++
	c.lines = append(c.lines, fmt.Sprintf("progress %s %d/%d", ref, done, total))
}

func (c *capture) text() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

// archive is the decoded content of a written .tar.zst.
type archive struct {
	files  map[string][]byte // small files (index.json, manifests, configs)
	blobs  map[string]int    // blob digest -> times stored
	index  v1.IndexManifest
	window uint64
}

func readArchive(t *testing.T, path string) *archive {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hdr zstd.Header
	head := make([]byte, zstd.HeaderMaxSize)
	n, _ := io.ReadFull(f, head)
	if err := hdr.Decode(head[:n]); err != nil {
		t.Fatalf("%s: not a zstd frame: %v", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	a := &archive{files: map[string][]byte{}, blobs: map[string]int{}, window: hdr.WindowSize}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the tar in %s: %v", path, err)
		}
		if h.Typeflag == tar.TypeDir {
			continue
		}
		if d, ok := strings.CutPrefix(h.Name, "blobs/sha256/"); ok {
			a.blobs["sha256:"+d]++
		}
		if h.Size < 1<<20 {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			a.files[h.Name] = b
		}
	}
	if err := json.Unmarshal(a.files["index.json"], &a.index); err != nil {
		t.Fatalf("index.json: %v\n%s", err, a.files["index.json"])
	}
	if string(a.files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout = %q", a.files["oci-layout"])
	}
	return a
}

// entry finds the index.json entry named ref and checks both annotations.
func (a *archive) entry(t *testing.T, ref string) v1.Descriptor {
	t.Helper()
	for _, m := range a.index.Manifests {
		if m.Annotations[ociarchive.AnnotationContainerdName] == ref {
			if m.Annotations[ociarchive.AnnotationRefName] != ref {
				t.Errorf("%s: %s = %q, want the full reference", ref, ociarchive.AnnotationRefName, m.Annotations[ociarchive.AnnotationRefName])
			}
			return m
		}
	}
	t.Fatalf("index.json has no entry named %q: %+v", ref, a.index.Manifests)
	return v1.Descriptor{}
}

func assertNoFiles(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in %s: %s", dir, e.Name())
	}
}
