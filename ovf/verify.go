package ovf

import (
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// VerifyReader returns a reader of rc that hashes what it reads and, at the
// end, returns an error naming the file, the expected and the actual digest
// instead of io.EOF when the content does not match the manifest entry. where
// says whose manifest it is ("the OVA's manifest", "source.mf"), for the message.
// Closing it closes rc.
func VerifyReader(rc io.ReadCloser, e ManifestEntry, where string) (io.ReadCloser, error) {
	h, err := NewHash(e.Algorithm)
	if err != nil {
		return nil, fmt.Errorf("manifest entry for %s: %w", e.Name, err)
	}
	return &verifyingReader{rc: rc, h: h, e: e, where: where}, nil
}

type verifyingReader struct {
	rc    io.ReadCloser
	h     hash.Hash
	e     ManifestEntry
	where string
	done  error
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.done != nil {
		return 0, v.done
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(v.h.Sum(nil)); !strings.EqualFold(got, v.e.Digest) {
			v.done = &DigestError{Name: v.e.Name, Where: v.where, Algorithm: v.e.Algorithm, Expected: v.e.Digest, Actual: got}
		} else {
			v.done = io.EOF
		}
		return n, v.done
	}
	return n, err
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

// DigestError is a file whose content does not match its manifest entry:
// the file is corrupt (or was modified), whatever else went wrong reading it.
type DigestError struct {
	Name      string // the file, as the manifest names it
	Where     string // whose manifest ("the OVA's manifest")
	Algorithm string
	Expected  string // the manifest's digest
	Actual    string // the content's
}

func (e *DigestError) Error() string {
	return fmt.Sprintf("%s does not match %s: %s expected %s, actual %s; the file is damaged or was modified",
		e.Name, e.Where, strings.ToUpper(e.Algorithm), strings.ToLower(e.Expected), e.Actual)
}
