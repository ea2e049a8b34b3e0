package common

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	packercommon "github.com/hashicorp/packer-plugin-sdk/common"
	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
)

func testUI() (*packersdk.BasicUi, *bytes.Buffer) {
	var out bytes.Buffer
	return &packersdk.BasicUi{Reader: strings.NewReader(""), Writer: &out, ErrorWriter: &out}, &out
}

// funcStep runs run; cleaned records that Cleanup ran and whether the build
// had failed then.
type funcStep struct {
	run     func(context.Context, multistep.StateBag) multistep.StepAction
	cleaned *[]bool
}

func (s *funcStep) Run(ctx context.Context, st multistep.StateBag) multistep.StepAction {
	return s.run(ctx, st)
}
func (s *funcStep) Cleanup(st multistep.StateBag) { *s.cleaned = append(*s.cleaned, Failed(st)) }

func TestRun(t *testing.T) {
	ui, out := testUI()
	var cleaned []bool
	ok := &funcStep{cleaned: &cleaned, run: func(_ context.Context, st multistep.StateBag) multistep.StepAction {
		if st.Get("ui") != ui || st.Get("config") != "cfg" {
			return Halt(st, errors.New("state lacks ui or config"))
		}
		st.Get("generated_data").(map[string]interface{})["Host"] = "h"
		return multistep.ActionContinue
	}}
	state, err := Run(context.Background(), ui, nil, packercommon.PackerConfig{}, "cfg", "vm1", []multistep.Step{ok})
	if err != nil {
		t.Fatal(err)
	}
	if gd := state.Get("generated_data").(map[string]interface{}); gd["vm_name"] != "vm1" || gd["Host"] != "h" {
		t.Errorf("generated_data %v", gd)
	}
	if len(cleaned) != 1 || cleaned[0] {
		t.Errorf("cleanups %v, want one with the build not failed", cleaned)
	}

	cleaned = nil
	bad := &funcStep{cleaned: &cleaned, run: func(_ context.Context, st multistep.StateBag) multistep.StepAction {
		return Halt(st, errors.New("broken on purpose"))
	}}
	if _, err := Run(context.Background(), ui, nil, packercommon.PackerConfig{}, "cfg", "vm1", []multistep.Step{ok, bad}); err == nil || err.Error() != "broken on purpose" {
		t.Errorf("halted build: %v", err)
	}
	if !strings.Contains(out.String(), "broken on purpose") {
		t.Errorf("Halt did not tell the user: %q", out.String())
	}
	if len(cleaned) != 2 || !cleaned[0] || !cleaned[1] {
		t.Errorf("cleanups %v, want both with the build failed", cleaned)
	}

	ctx, cancel := context.WithCancel(context.Background())
	stop := &funcStep{cleaned: &cleaned, run: func(context.Context, multistep.StateBag) multistep.StepAction {
		cancel()
		return multistep.ActionContinue
	}}
	if _, err := Run(ctx, ui, nil, packercommon.PackerConfig{}, "cfg", "vm1", []multistep.Step{stop, ok}); err == nil || err.Error() != "build was cancelled" {
		t.Errorf("cancelled build: %v", err)
	}
}

// A source that cannot be opened halts the build, and the message shows the
// path as Show renders it.
func TestStepOpenSourceHalts(t *testing.T) {
	hs := httptest.NewServer(http.NotFoundHandler())
	defer hs.Close()
	t.Setenv("TMPDIR", t.TempDir())
	t.Setenv("PACKER_CACHE_DIR", t.TempDir())
	ui, out := testUI()
	state := new(multistep.BasicStateBag)
	state.Put("ui", ui)
	s := &StepOpenSource{Path: hs.URL + "/base.ova?token=secret"}
	if a := s.Run(context.Background(), state); a != multistep.ActionHalt {
		t.Fatalf("action %v, want a halt", a)
	}
	s.Cleanup(state)
	if err, _ := state.Get("error").(error); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("error %v, want the HTTP 404", err)
	}
	if !strings.Contains(out.String(), "Opening source "+hs.URL+"/base.ova ...") || strings.Contains(out.String()+fmt.Sprint(state.Get("error")), "secret") {
		t.Errorf("output %q, error %v: want the path without its query", out.String(), state.Get("error"))
	}
	if _, ok := state.GetOk("source"); ok {
		t.Error("a failed open put a source in state")
	}
}
