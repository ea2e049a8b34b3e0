package ovf

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkChars rejects what XML 1.0 cannot carry at all.
func checkChars(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("value is not valid UTF-8")
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("value contains %U, which XML 1.0 cannot represent", r)
		}
	}
	return nil
}

// escapeAttr escapes a value for an attribute quoted with q. White space
// other than the space is written as character references, since an XML
// parser would otherwise normalise it to spaces.
func escapeAttr(s string, q byte) (string, error) {
	if err := checkChars(s); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && q == '"':
			b.WriteString("&quot;")
		case r == '\'' && q == '\'':
			b.WriteString("&apos;")
		case r == '\n':
			b.WriteString("&#xA;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t':
			b.WriteString("&#x9;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), nil
}

func mustEscapeAttr(s string) string {
	v, err := escapeAttr(s, '"')
	if err != nil {
		return ""
	}
	return v
}

// escapeText escapes character data; "\r" becomes a reference so that it
// survives line-end normalisation.
func escapeText(s string) (string, error) {
	if err := checkChars(s); err != nil {
		return "", err
	}
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	return r.Replace(s), nil
}
