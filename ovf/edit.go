// edit.go is past 350 lines on purpose: every edit operation and the
// rendering of new elements share the span and prefix rules of one Editor,
// which read best side by side.

package ovf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Editor collects byte-span edits against one Document and applies them
// together. Each edit replaces the smallest span that carries the change (an
// attribute value, one element with its indentation, a text node), so a diff
// of the result shows only what was asked for. Edits may not overlap; make
// dependent edits in a second round on the Document that Apply returns.
type Editor struct {
	doc   *Document
	edits []spanEdit
	decls map[string]string // prefix -> URI to declare on the root element
	errs  []error
}

type spanEdit struct {
	start, end int
	text       []byte
	seq        int
	what       string
}

// Node is an element to insert. Names carry namespace URIs; the editor picks
// the prefixes in scope where the node lands and declares any that are
// missing on the root element.
type Node struct {
	Name     xml.Name
	Attrs    []xml.Attr // Name.Space "" means an unprefixed attribute
	Text     string
	Children []*Node
}

// Edit starts a set of edits on d.
func (d *Document) Edit() *Editor { return &Editor{doc: d} }

func (ed *Editor) add(start, end int, text []byte, what string) {
	ed.edits = append(ed.edits, spanEdit{start: start, end: end, text: text, seq: len(ed.edits), what: what})
}

func (ed *Editor) fail(format string, args ...any) {
	ed.errs = append(ed.errs, fmt.Errorf("ovf: "+format, args...))
}

func (ed *Editor) mine(e *Element) bool {
	if e == nil || e.doc != ed.doc {
		ed.fail("internal error: edit of an element that is not from this document (stale after an earlier Apply?)")
		return false
	}
	return true
}

// SetAttr sets an attribute, rewriting only its value when it exists and
// appending it to the start tag otherwise.
func (ed *Editor) SetAttr(e *Element, name xml.Name, value string) {
	if !ed.mine(e) {
		return
	}
	if a := e.attr(name); a != nil {
		if a.Value == value {
			return // nothing to change: keep the bytes, including entity spelling
		}
		v, err := escapeAttr(value, a.quote)
		if err != nil {
			ed.fail("attribute %s of <%s> (line %d): %v", a.qname, e.qname, e.Line(), err)
			return
		}
		ed.add(a.valueStart, a.valEnd, []byte(v), "set "+a.qname)
		return
	}
	v, err := escapeAttr(value, '"')
	if err != nil {
		ed.fail("attribute %s of <%s> (line %d): %v", name.Local, e.qname, e.Line(), err)
		return
	}
	qname := ed.qualify(e, name, true)
	ed.add(e.tagInsertPoint(), e.tagInsertPoint(), []byte(" "+qname+`="`+v+`"`), "add "+qname)
}

// RemoveAttr removes an attribute and the white space before it. Removing
// one that is absent is not an error.
func (ed *Editor) RemoveAttr(e *Element, name xml.Name) {
	if !ed.mine(e) {
		return
	}
	a := e.attr(name)
	if a == nil {
		return
	}
	s := a.start
	for s > e.start && isXMLSpace(ed.doc.raw[s-1]) {
		s--
	}
	ed.add(s, a.end, nil, "remove "+a.qname)
}

// Remove removes an element. When it stands on a line of its own, the line
// break and indentation before it go too, so no blank line is left.
func (ed *Editor) Remove(e *Element) {
	if !ed.mine(e) {
		return
	}
	if e.parent == nil {
		ed.fail("cannot remove the root element <%s>", e.qname)
		return
	}
	s, _ := ed.doc.lineIndent(e.start)
	ed.add(s, e.end, nil, "remove <"+e.qname+">")
}

// SetText replaces the content of an element that has no child elements.
func (ed *Editor) SetText(e *Element, text string) {
	if !ed.mine(e) {
		return
	}
	if len(e.children) > 0 {
		ed.fail("cannot set the text of <%s> (line %d): it has child elements", e.qname, e.Line())
		return
	}
	if e.Text() == text && !bytes.Contains(ed.doc.raw[e.startEnd:e.endStart], []byte("<!--")) {
		return
	}
	t, err := escapeText(text)
	if err != nil {
		ed.fail("text of <%s> (line %d): %v", e.qname, e.Line(), err)
		return
	}
	if e.selfClosing {
		// "<x/>" becomes "<x>text</x>": rewrite from the '/' on.
		slash := bytes.LastIndexByte(ed.doc.raw[e.start:e.startEnd], '/') + e.start
		ed.add(slash, e.startEnd, []byte(">"+t+"</"+e.qname+">"), "set text of <"+e.qname+">")
		return
	}
	ed.add(e.startEnd, e.endStart, []byte(t), "set text of <"+e.qname+">")
}

// InsertAfter inserts n as the next sibling of ref, on its own line with
// ref's indentation.
func (ed *Editor) InsertAfter(ref *Element, n *Node) {
	if out, indent, ok := ed.renderSibling(ref, n); ok {
		ed.add(ref.end, ref.end, []byte("\n"+indent+out), "insert <"+n.Name.Local+">")
	}
}

// InsertBefore inserts n as the previous sibling of ref.
func (ed *Editor) InsertBefore(ref *Element, n *Node) {
	if out, indent, ok := ed.renderSibling(ref, n); ok {
		ed.add(ref.start, ref.start, []byte(out+"\n"+indent), "insert <"+n.Name.Local+">")
	}
}

// renderSibling renders n for insertion beside ref, with ref's indentation;
// ok is false (and the error recorded) when that is not possible.
func (ed *Editor) renderSibling(ref *Element, n *Node) (out, indent string, ok bool) {
	if !ed.mine(ref) {
		return "", "", false
	}
	if ref.parent == nil {
		ed.fail("cannot insert a sibling of the root element")
		return "", "", false
	}
	_, indent = ed.doc.lineIndent(ref.start)
	out, err := ed.render(ref.parent, n, indent)
	if err != nil {
		ed.errs = append(ed.errs, err)
		return "", "", false
	}
	return out, indent, true
}

// Append inserts n as the last child of parent.
func (ed *Editor) Append(parent *Element, n *Node) {
	if !ed.mine(parent) {
		return
	}
	if k := len(parent.children); k > 0 {
		ed.InsertAfter(parent.children[k-1], n)
		return
	}
	_, indent := ed.doc.lineIndent(parent.start)
	child := indent + ed.doc.indentUnit()
	out, err := ed.render(parent, n, child)
	if err != nil {
		ed.errs = append(ed.errs, err)
		return
	}
	if parent.selfClosing {
		slash := bytes.LastIndexByte(ed.doc.raw[parent.start:parent.startEnd], '/') + parent.start
		ed.add(slash, parent.startEnd, []byte(">\n"+child+out+"\n"+indent+"</"+parent.qname+">"), "insert <"+n.Name.Local+">")
		return
	}
	content := ed.doc.raw[parent.startEnd:parent.endStart]
	if len(bytes.TrimLeft(content, " \t\r\n")) == 0 {
		ed.add(parent.startEnd, parent.endStart, []byte("\n"+child+out+"\n"+indent), "insert <"+n.Name.Local+">")
		return
	}
	ed.add(parent.endStart, parent.endStart, []byte("\n"+child+out+"\n"+indent), "insert <"+n.Name.Local+">")
}

// Apply makes every edit and returns the new Document, re-read from the
// edited bytes (so a result that were not well-formed would fail here).
func (ed *Editor) Apply() (*Document, error) {
	if len(ed.errs) > 0 {
		return nil, errors.Join(ed.errs...)
	}
	edits := append([]spanEdit(nil), ed.edits...)
	if len(ed.decls) > 0 {
		var b strings.Builder
		for _, p := range sortedKeys(ed.decls) {
			fmt.Fprintf(&b, ` xmlns:%s="%s"`, p, mustEscapeAttr(ed.decls[p]))
		}
		at := ed.doc.root.tagInsertPoint()
		edits = append(edits, spanEdit{start: at, end: at, text: []byte(b.String()), seq: len(edits), what: "declare namespaces"})
	}
	if len(edits) == 0 {
		return ed.doc, nil
	}
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].start != edits[j].start {
			return edits[i].start < edits[j].start
		}
		return edits[i].seq < edits[j].seq
	})
	var out bytes.Buffer
	pos := 0
	for i, e := range edits {
		if e.start < pos {
			prev := edits[i-1]
			return nil, fmt.Errorf("ovf: internal error: edits overlap (%s at byte %d and %s at byte %d); make the second in a later round", prev.what, prev.start, e.what, e.start)
		}
		out.Write(ed.doc.raw[pos:e.start])
		out.Write(e.text)
		pos = e.end
	}
	out.Write(ed.doc.raw[pos:])
	nd := &Document{raw: out.Bytes()}
	if err := nd.index(); err != nil {
		return nil, fmt.Errorf("ovf: internal error: edited descriptor does not read back: %w", err)
	}
	return nd, nil
}

// qualify returns the qualified name for name where e stands, declaring a
// prefix for its namespace when none is in scope.
func (ed *Editor) qualify(e *Element, name xml.Name, attr bool) string {
	if name.Space == "" {
		if !attr {
			if uri, _ := e.LookupNamespace(""); uri != "" {
				ed.fail("cannot write element <%s> in no namespace inside a default namespace", name.Local)
			}
		}
		return name.Local
	}
	if p, ok := e.LookupPrefix(name.Space, attr); ok {
		if p == "" {
			return name.Local
		}
		return p + ":" + name.Local
	}
	for p, uri := range ed.decls {
		if uri == name.Space {
			return p + ":" + name.Local
		}
	}
	p := ed.newPrefix(name.Space)
	if ed.decls == nil {
		ed.decls = map[string]string{}
	}
	ed.decls[p] = name.Space
	return p + ":" + name.Local
}

// newPrefix picks the conventional prefix for a namespace, made unique
// against every prefix declared anywhere in the document so that a
// declaration on the root cannot be shadowed.
func (ed *Editor) newPrefix(uri string) string {
	base := map[string]string{
		NamespaceOVF1: "ovf", NamespaceOVF2: "ovf", NamespaceRASD: "rasd", NamespaceVSSD: "vssd",
		NamespaceVMW: "vmw", NamespaceXSI: "xsi",
	}[uri]
	if base == "" {
		base = "ns"
	}
	used := map[string]bool{"xml": true, "xmlns": true}
	ed.doc.root.Walk(func(e *Element) bool {
		for p := range e.decls {
			used[p] = true
		}
		if p, _, ok := strings.Cut(e.qname, ":"); ok {
			used[p] = true
		}
		for _, a := range e.attrs {
			if p, _, ok := strings.Cut(a.qname, ":"); ok {
				used[p] = true
			}
		}
		return true
	})
	for p := range ed.decls {
		used[p] = true
	}
	p := base
	for i := 1; used[p]; i++ {
		p = fmt.Sprintf("%s%d", base, i)
	}
	return p
}

// render writes n for insertion under parent, children indented one unit
// deeper than indent.
func (ed *Editor) render(parent *Element, n *Node, indent string) (string, error) {
	var b strings.Builder
	if err := ed.renderTo(&b, parent, n, indent); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (ed *Editor) renderTo(b *strings.Builder, parent *Element, n *Node, indent string) error {
	qname := ed.qualify(parent, n.Name, false)
	b.WriteString("<" + qname)
	for _, a := range n.Attrs {
		v, err := escapeAttr(a.Value, '"')
		if err != nil {
			return fmt.Errorf("ovf: attribute %s of new <%s>: %w", a.Name.Local, n.Name.Local, err)
		}
		b.WriteString(" " + ed.qualify(parent, a.Name, true) + `="` + v + `"`)
	}
	if n.Text == "" && len(n.Children) == 0 {
		b.WriteString("/>")
		return nil
	}
	b.WriteString(">")
	if n.Text != "" {
		t, err := escapeText(n.Text)
		if err != nil {
			return fmt.Errorf("ovf: text of new <%s>: %w", n.Name.Local, err)
		}
		b.WriteString(t)
	}
	if len(n.Children) > 0 {
		child := indent + ed.doc.indentUnit()
		for _, c := range n.Children {
			b.WriteString("\n" + child)
			if err := ed.renderTo(b, parent, c, child); err != nil {
				return err
			}
		}
		b.WriteString("\n" + indent)
	}
	b.WriteString("</" + qname + ">")
	return nil
}

// tagInsertPoint is where a new attribute goes: after the last attribute,
// before any white space and the closing "/>" or ">".
func (e *Element) tagInsertPoint() int {
	end := e.startEnd - 1 // the '>'
	if e.selfClosing {
		end-- // the '/'
	}
	for end > e.start && isXMLSpace(e.doc.raw[end-1]) {
		end--
	}
	return end
}

// lineIndent returns, for an element starting at off, where its line break
// begins when only white space stands before it on its line (else off), and
// that white space.
func (d *Document) lineIndent(off int) (int, string) {
	i := off
	for i > 0 && (d.raw[i-1] == ' ' || d.raw[i-1] == '\t') {
		i--
	}
	if i > 0 && d.raw[i-1] == '\n' {
		s := i - 1
		if s > 0 && d.raw[s-1] == '\r' {
			s--
		}
		return s, string(d.raw[i:off])
	}
	return off, ""
}

// indentUnit guesses the document's indentation step from the first
// element whose child sits on a deeper-indented line; "  " by default.
func (d *Document) indentUnit() string {
	unit := ""
	d.root.Walk(func(e *Element) bool {
		if len(e.children) == 0 || e.parent == nil {
			return true
		}
		_, pi := d.lineIndent(e.start)
		s, ci := d.lineIndent(e.children[0].start)
		if s != e.children[0].start && len(ci) > len(pi) && strings.HasPrefix(ci, pi) {
			unit = ci[len(pi):]
			return false
		}
		return true
	})
	if unit == "" {
		return "  "
	}
	return unit
}
