package ovf

import (
	"bytes"
	"encoding/xml"
	"testing"
)

// FuzzEdit feeds arbitrary documents and values to one editor operation and
// checks the promises: the result reads back, carries the change, declares
// every prefix it uses, and leaves every byte outside the edited region as
// it was. Seeds: testdata/fuzz/FuzzEdit (real-shaped descriptors).
func FuzzEdit(f *testing.F) {
	f.Add(mustReadF(f, "testdata/vsphere-export.ovf"), uint8(0), uint16(3), "false")
	f.Add([]byte(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><a/></Envelope>`), uint8(2), uint16(1), "x")
	f.Fuzz(func(t *testing.T, data []byte, op uint8, pick uint16, value string) {
		d, err := ParseDocument(data)
		if err != nil {
			return
		}
		var all []*Element
		d.Root().Walk(func(e *Element) bool { all = append(all, e); return true })
		e := all[int(pick)%len(all)]
		before := d.UndeclaredPrefixes()
		ed := d.Edit()
		// lo..hi is the region of the old bytes the edit may touch.
		lo, hi := d.Root().start, e.end
		switch op % 4 {
		case 0:
			ed.SetAttr(e, xml.Name{Space: NamespaceOVF1, Local: "required"}, value)
		case 1:
			if e.parent == nil {
				return
			}
			lo, _ = d.lineIndent(e.start)
			ed.Remove(e)
		case 2:
			ed.Append(e, &Node{Name: xml.Name{Space: NamespaceRASD, Local: "Fuzz"}, Text: value,
				Attrs: []xml.Attr{{Name: xml.Name{Space: NamespaceVMW, Local: "key"}, Value: value}}})
			if k := len(e.children); k > 0 {
				hi = e.children[k-1].end
			}
		case 3:
			if len(e.children) > 0 {
				return
			}
			lo = e.start
			ed.SetText(e, value)
		}
		nd, err := ed.Apply()
		if err != nil {
			if checkChars(value) != nil {
				return // a value XML cannot carry is refused, as it should be
			}
			t.Fatalf("Apply (op %d on <%s>): %v", op%4, e.qname, err)
		}
		if len(nd.UndeclaredPrefixes()) > len(before) {
			t.Fatalf("edit added undeclared prefixes: %v (before %v)\n%s", nd.UndeclaredPrefixes(), before, nd.raw)
		}
		old, out := d.raw, nd.raw
		if !bytes.Equal(out[:lo], old[:lo]) || !bytes.HasSuffix(out, old[hi:]) {
			t.Fatalf("bytes outside [%d,%d) changed:\nold: %q\nnew: %q", lo, hi, old, out)
		}
		var got []*Element
		nd.Root().Walk(func(e *Element) bool { got = append(got, e); return true })
		idx := int(pick) % len(all)
		switch op % 4 {
		case 0:
			if v, ok := got[idx].Attr(NamespaceOVF1, "required"); !ok || v != value {
				t.Fatalf("attribute reads back as %q, %v; want %q", v, ok, value)
			}
		case 1:
			n := 0
			e.Walk(func(*Element) bool { n++; return true })
			if len(got) != len(all)-n {
				t.Fatalf("%d elements after removing %d of %d", len(got), n, len(all))
			}
		case 2:
			c := got[idx].children
			if len(c) == 0 || c[len(c)-1].Name != (xml.Name{Space: NamespaceRASD, Local: "Fuzz"}) || c[len(c)-1].Text() != value {
				t.Fatalf("appended child missing or wrong in\n%s", out)
			}
		case 3:
			if got[idx].Text() != normalizeNewlines(value) {
				t.Fatalf("text reads back as %q, want %q", got[idx].Text(), value)
			}
		}
	})
}

// normalizeNewlines is what an XML parser does to "\r\n" in text written
// literally; escapeText writes "\r" as a reference, so nothing changes.
func normalizeNewlines(s string) string { return s }
