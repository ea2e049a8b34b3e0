package ovfvm

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// VMX is a VMware .vmx configuration file: key = "value" lines. Keys are
// case-insensitive (VMware matches them so); values are kept as written,
// with VMware's |XX hex escapes decoded.
type VMX struct {
	// Path is the file it was read from ("" for ParseVMX).
	Path   string
	values map[string]string // lower-case key -> value
	keys   []string          // lower-case keys in file order, each once
}

// maxVMXSize bounds what ReadVMX reads: a .vmx is a few KiB; anything
// larger is not one.
const maxVMXSize = 1 << 20

// ReadVMX reads and parses a .vmx file.
func ReadVMX(path string) (*VMX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read .vmx: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxVMXSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(data) > maxVMXSize {
		return nil, fmt.Errorf("%s: larger than %d bytes; a .vmx is a small text file, is this one?", path, maxVMXSize)
	}
	v, err := ParseVMX(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	v.Path = path
	return v, nil
}

// ParseVMX parses .vmx text. Blank lines and lines starting with '#' are
// skipped; every other line must be `key = value`, the value quoted
// ("...") or bare. A key given twice keeps its last value, as VMware does.
func ParseVMX(data []byte) (*VMX, error) {
	v := &VMX{values: map[string]string{}}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxVMXSize)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(strings.TrimSuffix(sc.Text(), "\r"))
		if s == "" || s[0] == '#' {
			continue
		}
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			return nil, fmt.Errorf("line %d: %q is not `key = \"value\"`", line, truncate(s, 60))
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		if key == "" || strings.ContainsAny(key, " \t\"") {
			return nil, fmt.Errorf("line %d: bad key %q", line, truncate(s[:eq], 60))
		}
		val, err := vmxValue(strings.TrimSpace(s[eq+1:]))
		if err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", line, key, err)
		}
		if _, seen := v.values[key]; !seen {
			v.keys = append(v.keys, key)
		}
		v.values[key] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return v, nil
}

// vmxValue decodes a value: "quoted" with |XX escapes (VMware writes '"'
// as |22 and '|' as |7C), or bare up to white space or '#'.
func vmxValue(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if s[0] != '"' {
		if i := strings.IndexAny(s, " \t#"); i >= 0 {
			s = s[:i]
		}
		return s, nil
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", errors.New("value has no closing quote")
	}
	if rest := strings.TrimSpace(s[end+2:]); rest != "" && rest[0] != '#' {
		return "", fmt.Errorf("unexpected %q after the quoted value", truncate(rest, 20))
	}
	raw := s[1 : end+1]
	if !strings.Contains(raw, "|") {
		return raw, nil
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '|' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]) {
			n, _ := strconv.ParseUint(raw[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(raw[i])
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Get returns a key's value; the key is matched case-insensitively.
func (v *VMX) Get(key string) (string, bool) {
	s, ok := v.values[strings.ToLower(key)]
	return s, ok
}

// Bool reads a VMware boolean ("TRUE", "true", "yes", "1"; anything else
// is false). ok is false when the key is absent.
func (v *VMX) Bool(key string) (value, ok bool) {
	s, ok := v.Get(key)
	if !ok {
		return false, false
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "1", "on":
		return true, true
	}
	return false, true
}

// Int reads an integer value. ok is false when the key is absent; err is
// set when it is present but not an integer.
func (v *VMX) Int(key string) (n int, ok bool, err error) {
	s, ok := v.Get(key)
	if !ok {
		return 0, false, nil
	}
	n, err = strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, true, fmt.Errorf("%s = %q is not a number", key, s)
	}
	return n, true, nil
}

// Keys returns the keys in file order (lower case).
func (v *VMX) Keys() []string { return append([]string(nil), v.keys...) }
