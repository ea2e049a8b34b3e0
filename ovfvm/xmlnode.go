package ovfvm

import "strings"

// node is an element to write: a prefixed name as vSphere spells it
// ("rasd:InstanceID"), attributes in order, and text or children. The
// descriptor is written with the prefixes and layout of a vCenter export
// (two-space indent, one element per line, self-closing empty elements),
// which encoding/xml's namespace handling cannot produce.
type node struct {
	name  string
	attrs [][2]string
	text  string
	kids  []*node
}

func el(name string, kids ...*node) *node { return &node{name: name, kids: kids} }

func textEl(name, text string) *node { return &node{name: name, text: text} }

func (n *node) attr(name, value string) *node {
	n.attrs = append(n.attrs, [2]string{name, value})
	return n
}

func (n *node) add(kids ...*node) *node {
	n.kids = append(n.kids, kids...)
	return n
}

// write renders n at the given depth. Prepare has refused the characters
// XML 1.0 cannot carry.
func (n *node) write(b *strings.Builder, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent)
	b.WriteByte('<')
	b.WriteString(n.name)
	for _, a := range n.attrs {
		b.WriteByte(' ')
		b.WriteString(a[0])
		b.WriteString(`="`)
		escape(b, a[1])
		b.WriteByte('"')
	}
	switch {
	case len(n.kids) > 0:
		b.WriteString(">\n")
		for _, k := range n.kids {
			k.write(b, depth+1)
		}
		b.WriteString(indent)
	case n.text != "":
		b.WriteByte('>')
		escape(b, n.text)
	default:
		b.WriteString("/>\n")
		return
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteString(">\n")
}

// xmlEscaper escapes text and attribute values the way vCenter's exports
// do (&quot; rather than encoding/xml's &#34;); white space other than
// the space is kept exact in attributes.
var xmlEscaper = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
	"\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;",
)

func escape(b *strings.Builder, s string) { _, _ = xmlEscaper.WriteString(b, s) }
