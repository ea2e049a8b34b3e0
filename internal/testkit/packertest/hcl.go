package packertest

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// DecodeHCL decodes a component's body as Packer decodes an HCL2 template:
// against the component's HCL2 spec (ConfigSpec), into the cty value its
// Prepare or Configure receives, with every attribute of the spec present
// (null when unset). An argument the spec lacks fails the test, as Packer
// refuses it with "Unsupported argument".
func DecodeHCL(t testing.TB, body string, spec hcldec.ObjectSpec) cty.Value {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(body), "template.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parsing %q: %v", body, diags)
	}
	v, diags := hcldec.Decode(f.Body, spec, nil)
	if diags.HasErrors() {
		t.Fatalf("decoding %q against the spec: %v", body, diags)
	}
	return v
}
