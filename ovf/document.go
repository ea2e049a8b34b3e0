// document.go is past 350 lines on purpose: the index and the accessors
// that read its spans share invariants (offsets, scopes) best kept in view
// together; scanning and escaping live in scan.go and escape.go.

package ovf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces the editor and its callers name elements by. Elements and
// attributes are always matched by namespace URI, never by prefix.
const (
	NamespaceXML  = "http://www.w3.org/XML/1998/namespace"
	NamespaceRASD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"
	NamespaceVSSD = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData"
	NamespaceVMW  = "http://www.vmware.com/schema/ovf"
	NamespaceXSI  = "http://www.w3.org/2001/XMLSchema-instance"
)

// Document is an XML document kept as its exact bytes plus an index of every
// element's byte span. It is read-only: edits go through an Editor, which
// rewrites only the spans it is asked to and returns a new Document, so every
// other byte (prefixes, comments, quoting, spacing, vendor sections) is
// carried over unchanged.
type Document struct {
	raw  []byte
	root *Element
}

// Element is one element of a Document. It is valid for the Document it came
// from; after an edit, look elements up again in the new Document.
type Element struct {
	// Name is the resolved name: Space is the namespace URI (or, for a prefix
	// that no xmlns declares, the prefix itself, as encoding/xml does).
	Name xml.Name

	doc         *Document
	qname       string // as written, e.g. "rasd:ResourceType"
	start       int    // offset of '<'
	startEnd    int    // offset just past the start tag's '>'
	endStart    int    // offset of the end tag's '<' (== startEnd when self-closing)
	end         int    // offset just past the element
	selfClosing bool
	attrs       []Attr
	decls       map[string]string // xmlns declarations on this element: prefix ("" = default) -> URI
	parent      *Element
	children    []*Element
	text        strings.Builder // character data directly inside, decoded
}

// Attr is one attribute as written in a start tag.
type Attr struct {
	// Name is the resolved name. Unprefixed attributes have no namespace;
	// declarations are {Space: "xmlns", Local: prefix} and {Local: "xmlns"}.
	Name  xml.Name
	Value string // decoded

	qname              string
	start, end         int // the whole `name="value"`
	valueStart, valEnd int // the value between the quotes
	quote              byte
}

var errNoRoot = errors.New("ovf: document has no root element")

// ParseDocument indexes data, which must be well-formed XML with one root.
// The returned Document keeps its own copy of data.
func ParseDocument(data []byte) (*Document, error) {
	d := &Document{raw: bytes.Clone(data)}
	if err := d.index(); err != nil {
		return nil, err
	}
	return d, nil
}

// Bytes returns the document's bytes.
func (d *Document) Bytes() []byte { return bytes.Clone(d.raw) }

// Root returns the root element.
func (d *Document) Root() *Element { return d.root }

// Line returns the 1-based line of a byte offset, for error messages.
func (d *Document) Line(offset int) int {
	if offset > len(d.raw) {
		offset = len(d.raw)
	}
	return 1 + bytes.Count(d.raw[:offset], []byte("\n"))
}

// Children returns the child elements in document order.
func (e *Element) Children() []*Element { return e.children }

// Parent returns the parent element, or nil for the root.
func (e *Element) Parent() *Element { return e.parent }

// Text returns the character data directly inside the element (not that of
// child elements), with entities decoded.
func (e *Element) Text() string { return e.text.String() }

// Line returns the line the element starts on.
func (e *Element) Line() int { return e.doc.Line(e.start) }

// QName returns the element's name as written, with its prefix.
func (e *Element) QName() string { return e.qname }

// Raw returns the element's bytes as they stand in the document.
func (e *Element) Raw() []byte { return e.doc.raw[e.start:e.end] }

// Attrs returns the attributes in source order, namespace declarations
// included.
func (e *Element) Attrs() []Attr { return e.attrs }

// Attr returns the value of the attribute with this namespace URI and local
// name ("" for an unprefixed attribute).
func (e *Element) Attr(space, local string) (string, bool) {
	if a := e.attr(xml.Name{Space: space, Local: local}); a != nil {
		return a.Value, true
	}
	return "", false
}

func (e *Element) attr(name xml.Name) *Attr {
	for i := range e.attrs {
		if e.attrs[i].Name == name {
			return &e.attrs[i]
		}
	}
	return nil
}

// Child returns the first child element with this namespace and local name.
func (e *Element) Child(space, local string) *Element {
	for _, c := range e.children {
		if c.Name.Space == space && c.Name.Local == local {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns the child elements with this namespace and local name.
func (e *Element) ChildrenNamed(space, local string) []*Element {
	var out []*Element
	for _, c := range e.children {
		if c.Name.Space == space && c.Name.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// LookupNamespace returns the URI a prefix ("" for the default namespace)
// is bound to where e stands.
func (e *Element) LookupNamespace(prefix string) (string, bool) {
	if prefix == "xml" {
		return NamespaceXML, true
	}
	for x := e; x != nil; x = x.parent {
		if uri, ok := x.decls[prefix]; ok {
			return uri, true
		}
	}
	return "", false
}

// LookupPrefix returns a prefix bound to uri where e stands and not
// shadowed by a nearer declaration; attr asks for a non-empty prefix, since
// an unprefixed attribute is in no namespace.
func (e *Element) LookupPrefix(uri string, attr bool) (string, bool) {
	if uri == NamespaceXML {
		return "xml", true
	}
	seen := map[string]bool{}
	for x := e; x != nil; x = x.parent {
		// Sorted for a stable choice when one element binds a URI twice.
		for _, p := range sortedKeys(x.decls) {
			if seen[p] {
				continue
			}
			seen[p] = true
			if x.decls[p] == uri && (p != "" || !attr) {
				return p, true
			}
		}
	}
	return "", false
}

// Walk calls fn for e and every element below it, in document order, until
// fn returns false.
func (e *Element) Walk(fn func(*Element) bool) bool {
	if !fn(e) {
		return false
	}
	for _, c := range e.children {
		if !c.Walk(fn) {
			return false
		}
	}
	return true
}

// UndeclaredPrefixes lists the prefixes used on element or attribute names
// that no xmlns declaration in scope binds. A document this package writes
// never has one it did not already have.
func (d *Document) UndeclaredPrefixes() []string {
	seen := map[string]bool{}
	var out []string
	check := func(e *Element, qname string) {
		p, _, ok := strings.Cut(qname, ":")
		if !ok || p == "xmlns" || p == "xml" || seen[p] {
			return
		}
		if _, bound := e.LookupNamespace(p); !bound {
			seen[p] = true
			out = append(out, p)
		}
	}
	d.root.Walk(func(e *Element) bool {
		check(e, e.qname)
		for _, a := range e.attrs {
			check(e, a.qname)
		}
		return true
	})
	return out
}

// index walks the XML with encoding/xml, which checks well-formedness and
// gives token boundaries (InputOffset), and records each element's spans.
// Names are resolved here from the raw tags so that the prefix scope used to
// read is the same one used to write.
func (d *Document) index() error {
	dec := xml.NewDecoder(bytes.NewReader(d.raw))
	dec.Strict = true
	var stack []*Element
	d.root = nil
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col := dec.InputPos()
			return fmt.Errorf("ovf: descriptor is not well-formed XML (line %d, column %d): %w", line, col, err)
		}
		after := int(dec.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			lt := bytes.IndexByte(d.raw[before:after], '<')
			if lt < 0 {
				return fmt.Errorf("ovf: internal error: start tag not found at byte %d", before)
			}
			var parent *Element
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			} else if d.root != nil {
				return fmt.Errorf("ovf: descriptor has more than one root element (line %d)", d.Line(before))
			}
			e, err := d.newElement(parent, before+lt, after, len(t.Attr))
			if err != nil {
				return err
			}
			if parent == nil {
				d.root = e
			} else {
				parent.children = append(parent.children, e)
			}
			stack = append(stack, e)
		case xml.EndElement:
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if e.selfClosing {
				e.endStart, e.end = e.startEnd, e.startEnd
			} else {
				e.endStart, e.end = before, after
			}
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if d.root == nil {
		return errNoRoot
	}
	return nil
}

// newElement reads the start tag at raw[start:tagEnd].
func (d *Document) newElement(parent *Element, start, tagEnd, decoderAttrs int) (*Element, error) {
	tag := d.raw[start:tagEnd]
	e := &Element{doc: d, parent: parent, start: start, startEnd: tagEnd}
	raws, selfClosing, err := scanAttrs(tag)
	if err != nil {
		return nil, fmt.Errorf("ovf: start tag at line %d: %w", d.Line(start), err)
	}
	if len(raws) != decoderAttrs {
		return nil, fmt.Errorf("ovf: internal error: tag at byte %d has %d raw attributes, decoder saw %d", start, len(raws), decoderAttrs)
	}
	e.selfClosing = selfClosing
	i := 1
	for i < len(tag) && !isXMLSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
		i++
	}
	e.qname = string(tag[1:i])
	// Declarations first: they apply to the element's own name and attributes.
	for _, r := range raws {
		val := string(tag[r.value.start:r.value.end])
		if r.name == "xmlns" || strings.HasPrefix(r.name, "xmlns:") {
			if e.decls == nil {
				e.decls = map[string]string{}
			}
			uri, err := unescapeAttr(val)
			if err != nil {
				return nil, fmt.Errorf("ovf: %s on line %d: %w", r.name, d.Line(start), err)
			}
			e.decls[strings.TrimPrefix(strings.TrimPrefix(r.name, "xmlns"), ":")] = uri
		}
	}
	e.Name = e.resolve(e.qname, false)
	for _, r := range raws {
		val, err := unescapeAttr(string(tag[r.value.start:r.value.end]))
		if err != nil {
			return nil, fmt.Errorf("ovf: attribute %s on line %d: %w", r.name, d.Line(start), err)
		}
		a := Attr{
			Value: val, qname: r.name, quote: tag[r.value.start-1],
			start: start + r.nameStart, end: start + r.value.end + 1,
			valueStart: start + r.value.start, valEnd: start + r.value.end,
		}
		switch {
		case r.name == "xmlns":
			a.Name = xml.Name{Local: "xmlns"}
		case strings.HasPrefix(r.name, "xmlns:"):
			a.Name = xml.Name{Space: "xmlns", Local: r.name[len("xmlns:"):]}
		default:
			a.Name = e.resolve(r.name, true)
		}
		e.attrs = append(e.attrs, a)
	}
	return e, nil
}

func (e *Element) resolve(qname string, attr bool) xml.Name {
	prefix, local, ok := strings.Cut(qname, ":")
	if !ok {
		if attr {
			return xml.Name{Local: qname}
		}
		uri, _ := e.LookupNamespace("")
		return xml.Name{Space: uri, Local: qname}
	}
	if uri, bound := e.LookupNamespace(prefix); bound {
		return xml.Name{Space: uri, Local: local}
	}
	return xml.Name{Space: prefix, Local: local}
}

// unescapeAttr decodes entity and character references in an attribute value
// the way an XML parser does (encoding/xml already rejected malformed ones).
func unescapeAttr(s string) (string, error) {
	if !strings.ContainsAny(s, "&\t\n\r") {
		return s, nil
	}
	dec := xml.NewDecoder(strings.NewReader(`<a v="` + strings.ReplaceAll(s, `"`, "&quot;") + `"/>`))
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	return tok.(xml.StartElement).Attr[0].Value, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
