package k3sstandin

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// Mirror is a loopback k3s "release mirror" on 127.0.0.1: it serves assets
// under /<version>/<asset> like GitHub releases, with their
// sha256sum-amd64.txt, and counts requests.
type Mirror struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	files    map[string][]byte
}

// NewMirror serves assets (name -> content) as release version, and stops
// when the test ends.
func NewMirror(t testing.TB, version string, assets map[string][]byte) *Mirror {
	t.Helper()
	m := &Mirror{files: map[string][]byte{}}
	var sums []byte
	for name, data := range assets {
		m.files["/"+version+"/"+name] = data
		sum := sha256.Sum256(data)
		sums = fmt.Appendf(sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	}
	m.files["/"+version+"/sha256sum-amd64.txt"] = sums
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.requests.Add(1)
		m.mu.Lock()
		data, ok := m.files[r.URL.Path]
		m.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(m.Close)
	return m
}

// StartMirror serves Version with script as k3s and the Airgap stand-in.
func StartMirror(t testing.TB, script string) *Mirror {
	t.Helper()
	return NewMirror(t, Version, map[string][]byte{"k3s": []byte(script), AirgapName: Airgap})
}

// Set replaces one served file (to corrupt an asset); p is the URL path.
func (m *Mirror) Set(p string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[p] = data
}

// Requests is how many requests the mirror answered.
func (m *Mirror) Requests() int64 { return m.requests.Load() }
