package ovasource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/atomicfile"
	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ctxio"
)

// download fetches a URL source into a temporary file (removed by
// source.Close). A cached copy is simpler and more robust than Range requests
// against servers of unknown quality, at the cost of local disk space. The
// temporary name carries atomicfile.TempInfix, so the checks that look for
// unfinished writes find a copy left by a killed build; on any error,
// including a cancelled build, the copy is removed before returning.
func download(ctx context.Context, u string, progress ProgressFunc) (_ string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("source_path %s: %w", Redact(u), redactErr(err))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading source_path: %w", redactErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading source_path %s: HTTP %s", Redact(u), resp.Status)
	}
	f, err := os.CreateTemp("", "source"+atomicfile.TempInfix+"*.ova")
	if err != nil {
		return "", fmt.Errorf("downloading source_path: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	body := io.ReadCloser(resp.Body)
	if progress != nil {
		body = progress(path.Base(resp.Request.URL.Path), resp.ContentLength, body)
		defer body.Close()
	}
	n, err := ctxio.Copy(ctx, f, body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("short download: %d of %d bytes", n, resp.ContentLength)
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return "", fmt.Errorf("downloading source_path %s: %w", Redact(u), redactErr(err))
	}
	return f.Name(), nil
}
