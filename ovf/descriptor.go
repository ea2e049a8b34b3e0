package ovf

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// OVF envelope namespaces (DSP0243 1.x and 2.x). Elements are matched by
// namespace URI, never by prefix: exports use "ovf:", other tools a default
// namespace.
const (
	NamespaceOVF1 = "http://schemas.dmtf.org/ovf/envelope/1"
	NamespaceOVF2 = "http://schemas.dmtf.org/ovf/envelope/2"
)

// File is one References/File entry.
type File struct {
	ID   string
	Href string
	Size int64 // -1 when the File has no ovf:size
}

// Descriptor is an OVF descriptor: a Document whose root is an OVF Envelope,
// with its References/File entries read and checked.
type Descriptor struct {
	doc   *Document
	files []fileRef
}

type fileRef struct {
	File
	elem *Element
}

// Parse reads a descriptor and validates every File href with CheckHref.
func Parse(data []byte) (*Descriptor, error) {
	doc, err := ParseDocument(data)
	if errors.Is(err, errNoRoot) {
		return nil, errNoEnvelope
	}
	if err != nil {
		return nil, err
	}
	return NewDescriptor(doc)
}

// NewDescriptor checks that doc is an OVF descriptor and reads its files.
func NewDescriptor(doc *Document) (*Descriptor, error) {
	d := &Descriptor{doc: doc}
	if err := d.index(); err != nil {
		return nil, err
	}
	return d, nil
}

// Document returns the descriptor's document, for edits beyond file sizes.
func (d *Descriptor) Document() *Document { return d.doc }

// Namespace returns the OVF envelope namespace the descriptor uses.
func (d *Descriptor) Namespace() string { return d.doc.root.Name.Space }

// Files returns the References entries in document order.
func (d *Descriptor) Files() []File {
	out := make([]File, len(d.files))
	for i, f := range d.files {
		out[i] = f.File
	}
	return out
}

// FileElement returns the References/File element with this href.
func (d *Descriptor) FileElement(href string) *Element {
	for _, f := range d.files {
		if f.Href == href {
			return f.elem
		}
	}
	return nil
}

// Bytes returns the descriptor, including any edits.
func (d *Descriptor) Bytes() []byte { return d.doc.Bytes() }

// SetFileSize sets the ovf:size of the File with this href, rewriting only
// that attribute value (or inserting the attribute when the File has none).
func (d *Descriptor) SetFileSize(href string, size int64) error {
	if size < 0 {
		return fmt.Errorf("ovf: SetFileSize(%q): negative size %d", href, size)
	}
	for _, f := range d.files {
		if f.Href != href {
			continue
		}
		ed := d.doc.Edit()
		ed.SetAttr(f.elem, d.attrName(f.elem, "size"), strconv.FormatInt(size, 10))
		doc, err := ed.Apply()
		if err != nil {
			return fmt.Errorf("ovf: set size of %q: %w", href, err)
		}
		nd, err := NewDescriptor(doc)
		if err != nil {
			return fmt.Errorf("ovf: internal error re-reading descriptor after setting size of %q: %w", href, err)
		}
		*d = *nd
		return nil
	}
	return fmt.Errorf("ovf: no References/File with href %q", href)
}

// attrName is the name an OVF attribute of e has or should get: the one
// already written, else the envelope namespace when e's own href is
// namespaced (or e uses no unprefixed OVF attributes), else unprefixed.
func (d *Descriptor) attrName(e *Element, local string) xml.Name {
	for _, a := range e.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || isOVFNamespace(a.Name.Space)) {
			return a.Name
		}
	}
	for _, a := range e.attrs {
		if a.Name.Space == "" && (a.Name.Local == "href" || a.Name.Local == "id") {
			return xml.Name{Local: local}
		}
	}
	return xml.Name{Space: d.Namespace(), Local: local}
}

// OVFAttr returns an OVF attribute of e, accepting the unprefixed form some
// tools write inside a default OVF namespace.
func OVFAttr(e *Element, local string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == local && (a.Name.Space == "" || isOVFNamespace(a.Name.Space)) {
			return a.Value, true
		}
	}
	return "", false
}

// IsOVF reports whether e is the OVF element with this local name.
func IsOVF(e *Element, local string) bool {
	return e != nil && e.Name.Local == local && isOVFNamespace(e.Name.Space)
}

func isOVFNamespace(ns string) bool { return ns == NamespaceOVF1 || ns == NamespaceOVF2 }

func (d *Descriptor) index() error {
	root := d.doc.root
	if !IsOVF(root, "Envelope") {
		return fmt.Errorf("ovf: root element is {%s}%s, want an OVF Envelope in namespace %s or %s; is this an OVF descriptor?",
			root.Name.Space, root.Name.Local, NamespaceOVF1, NamespaceOVF2)
	}
	d.files = nil
	for _, refs := range root.children {
		if !IsOVF(refs, "References") {
			continue
		}
		for _, f := range refs.children {
			if !IsOVF(f, "File") {
				continue
			}
			fr, err := readFile(f)
			if err != nil {
				return err
			}
			d.files = append(d.files, fr)
		}
	}
	seen := map[string]string{}
	for i, f := range d.files {
		if err := CheckHref(f.Href); err != nil {
			return fmt.Errorf("ovf: References/File #%d (id %q): %w", i+1, f.ID, err)
		}
		if other, dup := seen[f.Href]; dup {
			return fmt.Errorf("ovf: References/File ids %q and %q both use href %q; each file must be referenced once", other, f.ID, f.Href)
		}
		seen[f.Href] = f.ID
	}
	return nil
}

func readFile(e *Element) (fileRef, error) {
	fr := fileRef{elem: e, File: File{Size: -1}}
	fr.ID, _ = OVFAttr(e, "id")
	href, ok := OVFAttr(e, "href")
	if !ok {
		return fileRef{}, fmt.Errorf("ovf: References/File (id %q) at line %d has no ovf:href attribute", fr.ID, e.Line())
	}
	fr.Href = href
	if s, ok := OVFAttr(e, "size"); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 0 {
			return fileRef{}, fmt.Errorf("ovf: References/File (id %q, href %q): ovf:size %q is not a non-negative integer", fr.ID, fr.Href, s)
		}
		fr.Size = n
	}
	return fr, nil
}

var errNoEnvelope = errors.New("ovf: descriptor has no Envelope element; is this an OVF descriptor?")
