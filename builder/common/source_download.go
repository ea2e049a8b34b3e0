package common

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/url"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	"github.com/hashicorp/packer-plugin-sdk/multistep/commonsteps"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/ovasource"
)

// downloadKey is the state key the SDK's download step puts the cached
// copy's path under.
const downloadKey = "source_download_path"

// downloadSource fetches a URL source_path with the SDK's download step, as
// Packer's builders fetch iso_url: into PACKER_CACHE_DIR (kept there, named
// by the checksum, so a second build with the same source_checksum
// downloads nothing), with Packer's progress bar, and checked against
// source_checksum by go-getter (sha256:..., file:<url or path>, none).
// The URL's secrets (user info, query values: basic auth, signed URLs)
// are kept out of the output.
func (s *StepOpenSource) downloadSource(ctx context.Context, state multistep.StateBag) (string, error) {
	if err := ovasource.CheckURL(s.Path, "source_path"); err != nil {
		return "", err
	}
	secrets := urlSecrets(s.Path) // in LogSecretFilter since Prepare
	ui := state.Get("ui").(packersdk.Ui)
	state.Put("ui", &redactingUi{Ui: ui, secrets: secrets})
	defer state.Put("ui", ui)
	// The SDK's step and go-getter log the URL ("Acquiring lock for: ...")
	// to the plugin's log, which Packer writes to PACKER_LOG unfiltered.
	prevLog := log.Writer()
	log.SetOutput(&redactingWriter{w: prevLog, secrets: secrets})
	defer log.SetOutput(prevLog)
	checksum := s.Checksum
	if ovasource.NoChecksum(checksum) {
		checksum = "none"
	}
	dl := &commonsteps.StepDownload{
		Checksum:    checksum,
		Description: "source_path",
		ResultKey:   downloadKey,
		Url:         []string{s.Path},
		Extension:   "ova",
	}
	if dl.Run(ctx, state) == multistep.ActionContinue {
		return state.Get(downloadKey).(string), nil
	}
	err, _ := state.Get("error").(error)
	state.Remove("error")
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	// The step joins its errors into one string ("error downloading
	// source_path: [...]"): only the inner part is news.
	msg := redact(fmt.Sprint(err), secrets)
	msg = strings.TrimSuffix(strings.TrimPrefix(msg, "error downloading source_path: ["), "]")
	msg = strings.Join(strings.Fields(msg), " ")
	if strings.Contains(msg, "Checksums did not match") {
		return "", fmt.Errorf("source_checksum %s does not match the file downloaded from source_path %s (removed from the cache): the file is corrupt or not the one you meant (%s)",
			redact(s.Checksum, secrets), ovasource.Redact(s.Path), msg)
	}
	return "", fmt.Errorf("downloading source_path %s: %s", ovasource.Redact(s.Path), msg)
}

// urlSecrets are the parts of u that may be secret: the password (or a
// lone user, a token) and the query's values.
func urlSecrets(u string) []string {
	p, err := url.Parse(u)
	if err != nil {
		return nil
	}
	var out []string
	add := func(v string) {
		// Short values ("1", "true") would blank out ordinary words.
		if len(v) >= 4 {
			out = append(out, v, url.QueryEscape(v), url.PathEscape(v))
		}
	}
	if p.User != nil {
		if pw, ok := p.User.Password(); ok {
			add(pw)
		} else {
			add(p.User.Username())
		}
	}
	for _, vs := range p.Query() {
		for _, v := range vs {
			add(v)
		}
	}
	return out
}

func redact(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "<redacted>")
	}
	return s
}

// redactingUi shows what the SDK's download step says without the
// source URL's secrets.
type redactingUi struct {
	packersdk.Ui
	secrets []string
}

// redactingWriter removes secrets from what the standard logger writes
// (one Write per log line).
type redactingWriter struct {
	w       io.Writer
	secrets []string
}

func (r *redactingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, redact(string(p), r.secrets)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (u *redactingUi) Say(s string)     { u.Ui.Say(redact(s, u.secrets)) }
func (u *redactingUi) Message(s string) { u.Ui.Say(redact(s, u.secrets)) }
func (u *redactingUi) Error(s string)   { u.Ui.Error(redact(s, u.secrets)) }
func (u *redactingUi) Sayf(f string, a ...any) {
	u.Say(fmt.Sprintf(f, a...))
}
func (u *redactingUi) Errorf(f string, a ...any) {
	u.Error(fmt.Sprintf(f, a...))
}
func (u *redactingUi) TrackProgress(src string, cur, total int64, r io.ReadCloser) io.ReadCloser {
	return u.Ui.TrackProgress(redact(src, u.secrets), cur, total, r)
}
