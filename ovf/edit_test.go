package ovf

import (
	"encoding/xml"
	"strings"
	"testing"
)

func mustDoc(t *testing.T, s string) *Document {
	t.Helper()
	d, err := ParseDocument([]byte(s))
	if err != nil {
		t.Fatalf("ParseDocument: %v\n%s", err, s)
	}
	return d
}

func mustApply(t *testing.T, ed *Editor) *Document {
	t.Helper()
	d, err := ed.Apply()
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if p := d.UndeclaredPrefixes(); len(p) > 0 {
		t.Fatalf("edited document uses undeclared prefixes %v:\n%s", p, d.Bytes())
	}
	return d
}

func find(t *testing.T, d *Document, space, local string) *Element {
	t.Helper()
	var got *Element
	d.Root().Walk(func(e *Element) bool {
		if e.Name.Space == space && e.Name.Local == local {
			got = e
			return false
		}
		return true
	})
	if got == nil {
		t.Fatalf("no {%s}%s in\n%s", space, local, d.Bytes())
	}
	return got
}

func wantBytes(t *testing.T, d *Document, want string) {
	t.Helper()
	if got := string(d.Bytes()); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

const envHead = `<?xml version="1.0"?>
<!-- keep me -->
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData">
`

func TestSetAttrRewritesOnlyTheValue(t *testing.T) {
	src := envHead + `  <Item ovf:required = 'true'  ><rasd:ResourceType>23</rasd:ResourceType></Item>
</Envelope>
`
	d := mustDoc(t, src)
	item := find(t, d, NamespaceOVF1, "Item")
	ed := d.Edit()
	ed.SetAttr(item, xml.Name{Space: NamespaceOVF1, Local: "required"}, `it's "x"`)
	d2 := mustApply(t, ed)
	wantBytes(t, d2, strings.Replace(src, `'true'`, `'it&apos;s "x"'`, 1))
	if v, _ := find(t, d2, NamespaceOVF1, "Item").Attr(NamespaceOVF1, "required"); v != `it's "x"` {
		t.Errorf("value read back = %q", v)
	}
}

func TestSetAttrAddsWithThePrefixInScope(t *testing.T) {
	src := envHead + `  <Item/>
  <Item  >x</Item>
</Envelope>
`
	d := mustDoc(t, src)
	items := d.Root().ChildrenNamed(NamespaceOVF1, "Item")
	ed := d.Edit()
	ed.SetAttr(items[0], xml.Name{Space: NamespaceOVF1, Local: "required"}, "false")
	ed.SetAttr(items[1], xml.Name{Space: NamespaceOVF1, Local: "required"}, "a\nb\t<&>")
	d2 := mustApply(t, ed)
	want := strings.Replace(src, `<Item/>`, `<Item ovf:required="false"/>`, 1)
	want = strings.Replace(want, `<Item  >x`, `<Item ovf:required="a&#xA;b&#x9;&lt;&amp;&gt;"  >x`, 1)
	wantBytes(t, d2, want)
	if v, _ := d2.Root().ChildrenNamed(NamespaceOVF1, "Item")[1].Attr(NamespaceOVF1, "required"); v != "a\nb\t<&>" {
		t.Errorf("value read back = %q: white space or markup did not survive", v)
	}
}

// A document that binds the OVF namespace only as the default one gets an
// xmlns:ovf declaration on the root when an ovf: attribute is added, and a
// prefix already bound elsewhere to another namespace is not reused.
func TestNewPrefixIsDeclaredAndNeverShadowed(t *testing.T) {
	src := `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><VirtualSystem xmlns:ovf="urn:not-ovf"><Item/></VirtualSystem></Envelope>`
	d := mustDoc(t, src)
	ed := d.Edit()
	ed.SetAttr(find(t, d, NamespaceOVF1, "Item"), xml.Name{Space: NamespaceOVF1, Local: "required"}, "false")
	ed.Append(find(t, d, NamespaceOVF1, "Item"), &Node{Name: xml.Name{Space: NamespaceVMW, Local: "Config"},
		Attrs: []xml.Attr{{Name: xml.Name{Space: NamespaceVMW, Local: "key"}, Value: "k"}}})
	d2 := mustApply(t, ed)
	wantBytes(t, d2, `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf1="http://schemas.dmtf.org/ovf/envelope/1" xmlns:vmw="http://www.vmware.com/schema/ovf"><VirtualSystem xmlns:ovf="urn:not-ovf"><Item ovf1:required="false">
  <vmw:Config vmw:key="k"/>
</Item></VirtualSystem></Envelope>`)
	item := find(t, d2, NamespaceOVF1, "Item")
	if v, ok := item.Attr(NamespaceOVF1, "required"); !ok || v != "false" {
		t.Errorf("required read back as %q, %v", v, ok)
	}
	if item.Child(NamespaceVMW, "Config") == nil {
		t.Error("vmw:Config not in the vmw namespace after the edit")
	}
}

func TestRemoveElementTakesItsLine(t *testing.T) {
	src := envHead + `  <A/>
  <!-- about B -->
  <B><C/></B>
  <D/><E/>
</Envelope>
`
	d := mustDoc(t, src)
	ed := d.Edit()
	ed.Remove(find(t, d, NamespaceOVF1, "B"))
	ed.Remove(find(t, d, NamespaceOVF1, "E"))
	d2 := mustApply(t, ed)
	wantBytes(t, d2, strings.Replace(strings.Replace(src, "\n  <B><C/></B>", "", 1), "<E/>", "", 1))
}

func TestInsertKeepsIndentation(t *testing.T) {
	src := envHead + `    <VirtualSystem>
        <Info>x</Info>
        <Hw/>
    </VirtualSystem>
    <Empty></Empty>
    <Closed/>
</Envelope>
`
	d := mustDoc(t, src)
	ed := d.Edit()
	sec := &Node{Name: xml.Name{Space: NamespaceOVF1, Local: "AnnotationSection"}, Children: []*Node{
		{Name: xml.Name{Space: NamespaceOVF1, Local: "Info"}, Text: "A human-readable annotation"},
		{Name: xml.Name{Space: NamespaceOVF1, Local: "Annotation"}, Text: "line 1\nline 2 & <more>"},
	}}
	ed.InsertAfter(find(t, d, NamespaceOVF1, "Hw"), sec)
	ed.InsertBefore(find(t, d, NamespaceOVF1, "Info"), &Node{Name: xml.Name{Space: NamespaceOVF1, Local: "First"}})
	ed.Append(find(t, d, NamespaceOVF1, "Empty"), &Node{Name: xml.Name{Space: NamespaceRASD, Local: "X"}, Text: "1"})
	ed.Append(find(t, d, NamespaceOVF1, "Closed"), &Node{Name: xml.Name{Space: NamespaceRASD, Local: "Y"}})
	d2 := mustApply(t, ed)
	wantBytes(t, d2, envHead+`    <VirtualSystem>
        <First/>
        <Info>x</Info>
        <Hw/>
        <AnnotationSection>
            <Info>A human-readable annotation</Info>
            <Annotation>line 1
line 2 &amp; &lt;more&gt;</Annotation>
        </AnnotationSection>
    </VirtualSystem>
    <Empty>
        <rasd:X>1</rasd:X>
    </Empty>
    <Closed>
        <rasd:Y/>
    </Closed>
</Envelope>
`)
	if got := find(t, d2, NamespaceOVF1, "Annotation").Text(); got != "line 1\nline 2 & <more>" {
		t.Errorf("annotation read back as %q", got)
	}
}

func TestSetText(t *testing.T) {
	src := envHead + `  <a>old &amp; stale</a><b/><c>x<d/></c>
</Envelope>
`
	d := mustDoc(t, src)
	ed := d.Edit()
	ed.SetText(find(t, d, NamespaceOVF1, "a"), "new <1>")
	ed.SetText(find(t, d, NamespaceOVF1, "b"), "filled")
	d2 := mustApply(t, ed)
	wantBytes(t, d2, strings.Replace(strings.Replace(src, "old &amp; stale", "new &lt;1&gt;", 1), "<b/>", "<b>filled</b>", 1))

	ed = d.Edit()
	ed.SetText(find(t, d, NamespaceOVF1, "c"), "y")
	if _, err := ed.Apply(); err == nil || !strings.Contains(err.Error(), "child elements") {
		t.Errorf("SetText on an element with children: %v", err)
	}
}

func TestEditErrors(t *testing.T) {
	d := mustDoc(t, envHead+`  <a x="1"/>
</Envelope>
`)
	a := find(t, d, NamespaceOVF1, "a")
	ed := d.Edit()
	ed.Remove(a)
	ed.SetAttr(a, xml.Name{Local: "x"}, "2")
	if _, err := ed.Apply(); err == nil || !strings.Contains(err.Error(), "overlap") {
		t.Errorf("overlapping edits: %v, want an error", err)
	}
	ed = d.Edit()
	ed.SetAttr(a, xml.Name{Local: "x"}, "bad\x01")
	if _, err := ed.Apply(); err == nil || !strings.Contains(err.Error(), "XML 1.0 cannot represent") {
		t.Errorf("control character: %v, want an error", err)
	}
	other := mustDoc(t, envHead+"</Envelope>")
	ed = other.Edit()
	ed.Remove(a)
	if _, err := ed.Apply(); err == nil || !strings.Contains(err.Error(), "not from this document") {
		t.Errorf("element of another document: %v", err)
	}
	ed = d.Edit()
	ed.Remove(d.Root())
	if _, err := ed.Apply(); err == nil {
		t.Error("removing the root succeeded")
	}
}

func TestRemoveAttr(t *testing.T) {
	src := envHead + "  <a ovf:required=\"false\"\n     x='1'/>\n</Envelope>\n"
	d := mustDoc(t, src)
	ed := d.Edit()
	a := find(t, d, NamespaceOVF1, "a")
	ed.RemoveAttr(a, xml.Name{Space: NamespaceOVF1, Local: "required"})
	ed.RemoveAttr(a, xml.Name{Space: NamespaceOVF1, Local: "absent"})
	d2 := mustApply(t, ed)
	wantBytes(t, d2, strings.Replace(src, ` ovf:required="false"`, "", 1))
}

func TestUndeclaredPrefixesAreReported(t *testing.T) {
	d := mustDoc(t, `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><x:Item y:a="1"/></Envelope>`)
	if got := d.UndeclaredPrefixes(); strings.Join(got, ",") != "x,y" {
		t.Errorf("UndeclaredPrefixes = %v, want [x y]", got)
	}
}
