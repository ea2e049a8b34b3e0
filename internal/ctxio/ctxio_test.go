package ctxio

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestCopyStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	n, err := Copy(ctx, &out, strings.NewReader("abc"))
	if err != nil || n != 3 {
		t.Fatalf("copy: %d %v", n, err)
	}
	cancel()
	_, err = io.ReadAll(Reader(ctx, strings.NewReader("abc")))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}
