package ovf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
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

// Descriptor is an OVF descriptor kept as its raw bytes plus the byte
// positions of the References/File attributes, so an edit rewrites only the
// bytes it must and every other byte (prefixes, comments, vendor sections)
// survives unchanged.
type Descriptor struct {
	raw   []byte
	files []fileSpan
}

type fileSpan struct {
	File
	tagStart, tagEnd int // the File start tag: raw[tagStart:tagEnd] is "<...>"
	hrefName         string
	size             span // value of the size attribute; size.start < 0 when absent
	selfClosing      bool
}

type span struct{ start, end int }

// Parse reads a descriptor and validates every File href with CheckHref.
func Parse(data []byte) (*Descriptor, error) {
	d := &Descriptor{raw: bytes.Clone(data)}
	if err := d.index(); err != nil {
		return nil, err
	}
	return d, nil
}

// Files returns the References entries in document order.
func (d *Descriptor) Files() []File {
	out := make([]File, len(d.files))
	for i, f := range d.files {
		out[i] = f.File
	}
	return out
}

// Bytes returns the descriptor, including any edits.
func (d *Descriptor) Bytes() []byte { return bytes.Clone(d.raw) }

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
		val := []byte(strconv.FormatInt(size, 10))
		var edited []byte
		if f.size.start >= 0 {
			edited = concat(d.raw[:f.size.start], val, d.raw[f.size.end:])
		} else {
			// No size attribute: append one at the end of the tag, with the
			// same namespace prefix as the href attribute.
			prefix := ""
			if i := strings.IndexByte(f.hrefName, ':'); i >= 0 {
				prefix = f.hrefName[:i+1]
			}
			end := f.tagEnd - 1 // the '>'
			if f.selfClosing {
				end-- // the '/'
			}
			for end > f.tagStart && isXMLSpace(d.raw[end-1]) {
				end--
			}
			attr := []byte(fmt.Sprintf(` %ssize="%s"`, prefix, val))
			edited = concat(d.raw[:end], attr, d.raw[end:])
		}
		nd := &Descriptor{raw: edited}
		if err := nd.index(); err != nil {
			return fmt.Errorf("ovf: internal error re-reading descriptor after setting size of %q: %w", href, err)
		}
		*d = *nd
		return nil
	}
	return fmt.Errorf("ovf: no References/File with href %q", href)
}

func concat(parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func isOVFNamespace(ns string) bool { return ns == NamespaceOVF1 || ns == NamespaceOVF2 }

// index walks the XML with encoding/xml (which resolves namespaces) and maps
// each References/File start tag back to its raw bytes.
func (d *Descriptor) index() error {
	dec := xml.NewDecoder(bytes.NewReader(d.raw))
	dec.Strict = true
	var stack []xml.Name
	sawEnvelope := false
	d.files = nil
	for {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			line, col := dec.InputPos()
			return fmt.Errorf("ovf: descriptor is not well-formed XML (line %d, column %d): %w", line, col, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if t.Name.Local != "Envelope" || !isOVFNamespace(t.Name.Space) {
					return fmt.Errorf("ovf: root element is {%s}%s, want an OVF Envelope in namespace %s or %s; is this an OVF descriptor?",
						t.Name.Space, t.Name.Local, NamespaceOVF1, NamespaceOVF2)
				}
				sawEnvelope = true
			}
			if len(stack) == 2 && t.Name.Local == "File" && isOVFNamespace(t.Name.Space) &&
				stack[1].Local == "References" && isOVFNamespace(stack[1].Space) {
				fs, err := d.fileAt(start, int(dec.InputOffset()), t)
				if err != nil {
					return err
				}
				d.files = append(d.files, fs)
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if !sawEnvelope {
		return errors.New("ovf: descriptor has no Envelope element; is this an OVF descriptor?")
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

// fileAt locates the raw attributes of the File start tag decoded as t,
// which occupies raw[from:to] (possibly with leading whitespace).
func (d *Descriptor) fileAt(from, to int, t xml.StartElement) (fileSpan, error) {
	lt := bytes.IndexByte(d.raw[from:to], '<')
	if lt < 0 {
		return fileSpan{}, fmt.Errorf("ovf: internal error: File tag not found at byte %d", from)
	}
	fs := fileSpan{tagStart: from + lt, tagEnd: to, size: span{-1, -1}, File: File{Size: -1}}
	raws, selfClosing, err := scanAttrs(d.raw[fs.tagStart:fs.tagEnd])
	if err != nil {
		return fileSpan{}, fmt.Errorf("ovf: References/File at byte %d: %w", fs.tagStart, err)
	}
	fs.selfClosing = selfClosing
	if len(raws) != len(t.Attr) {
		return fileSpan{}, fmt.Errorf("ovf: internal error: File tag at byte %d has %d raw attributes, decoder saw %d", fs.tagStart, len(raws), len(t.Attr))
	}
	// encoding/xml keeps attributes in source order, so raws[i] is t.Attr[i].
	// Unprefixed attributes have no namespace in XML; accept them as well,
	// since some tools write them inside a default OVF namespace.
	var haveHref bool
	for i, a := range t.Attr {
		if a.Name.Space != "" && !isOVFNamespace(a.Name.Space) {
			continue
		}
		r := raws[i]
		switch a.Name.Local {
		case "id":
			fs.ID = a.Value
		case "href":
			fs.Href, fs.hrefName, haveHref = a.Value, r.name, true
		case "size":
			n, err := strconv.ParseInt(strings.TrimSpace(a.Value), 10, 64)
			if err != nil || n < 0 {
				return fileSpan{}, fmt.Errorf("ovf: References/File (id %q, href %q): ovf:size %q is not a non-negative integer", fs.ID, fs.Href, a.Value)
			}
			fs.Size = n
			fs.size = span{fs.tagStart + r.value.start, fs.tagStart + r.value.end}
		}
	}
	if !haveHref {
		return fileSpan{}, fmt.Errorf("ovf: References/File (id %q) at byte %d has no ovf:href attribute", fs.ID, fs.tagStart)
	}
	return fs, nil
}

type rawAttr struct {
	name  string
	value span // offsets relative to the tag start, excluding quotes
}

// scanAttrs lists the attributes of one start tag "<name a="v" ...>" in order.
func scanAttrs(tag []byte) ([]rawAttr, bool, error) {
	i := 1
	for i < len(tag) && !isXMLSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
		i++
	}
	var out []rawAttr
	for {
		for i < len(tag) && isXMLSpace(tag[i]) {
			i++
		}
		if i >= len(tag) {
			return nil, false, errors.New("unterminated tag")
		}
		if tag[i] == '>' {
			return out, false, nil
		}
		if tag[i] == '/' {
			return out, true, nil
		}
		ns := i
		for i < len(tag) && tag[i] != '=' && !isXMLSpace(tag[i]) {
			i++
		}
		name := string(tag[ns:i])
		for i < len(tag) && isXMLSpace(tag[i]) {
			i++
		}
		if i >= len(tag) || tag[i] != '=' {
			return nil, false, fmt.Errorf("attribute %q has no value", name)
		}
		i++
		for i < len(tag) && isXMLSpace(tag[i]) {
			i++
		}
		if i >= len(tag) || (tag[i] != '"' && tag[i] != '\'') {
			return nil, false, fmt.Errorf("attribute %q value is not quoted", name)
		}
		q := tag[i]
		i++
		vs := i
		for i < len(tag) && tag[i] != q {
			i++
		}
		if i >= len(tag) {
			return nil, false, fmt.Errorf("attribute %q value is not terminated", name)
		}
		out = append(out, rawAttr{name: name, value: span{vs, i}})
		i++
	}
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
