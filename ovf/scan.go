package ovf

import (
	"errors"
	"fmt"
)

type rawAttr struct {
	name      string
	nameStart int  // offset relative to the tag start
	value     span // offsets relative to the tag start, excluding quotes
}

type span struct{ start, end int }

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
		out = append(out, rawAttr{name: name, nameStart: ns, value: span{vs, i}})
		i++
	}
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
