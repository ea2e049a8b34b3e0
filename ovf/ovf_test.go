package ovf

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestCheckHrefRejects(t *testing.T) {
	for _, tc := range []struct{ href, want string }{
		{"", "empty href"},
		{".", "names a directory"},
		{"..", "names a directory"},
		{"../disk.vmdk", "path separator"},
		{"sub/disk.vmdk", "path separator"},
		{"/etc/passwd", "path separator"},
		{`..\disk.vmdk`, "path separator"},
		{`C:\disk.vmdk`, "Windows drive path"},
		{`C:disk.vmdk`, "Windows drive path"},
		{"http://example.com/disk.vmdk", "URL (scheme \"http\")"},
		{"file:disk.vmdk", "URL (scheme \"file\")"},
		{"HTTPS:x", "URL"},
		{"disk\x00.vmdk", "control character"},
		{"disk\n.vmdk", "control character"},
		{"disk\x7f.vmdk", "control character"},
		{"disk\xff.vmdk", "not valid UTF-8"},
	} {
		err := CheckHref(tc.href)
		if err == nil {
			t.Errorf("CheckHref(%q) = nil, want error containing %q", tc.href, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "plain file names") {
			t.Errorf("CheckHref(%q) = %q, want it to contain %q and say how to fix it", tc.href, err, tc.want)
		}
	}
}

func TestCheckHrefAccepts(t *testing.T) {
	for _, href := range []string{"disk-0.vmdk", "my disk (1).vmdk", "ünïcode.vmdk", "a.b.c", "...", "9p:file"} {
		if err := CheckHref(href); err != nil {
			t.Errorf("CheckHref(%q) = %v, want nil", href, err)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseVSphereExport(t *testing.T) {
	raw := mustRead(t, "testdata/vsphere-export.ovf")
	d, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []File{{"file1", "ubuntu-disk-0.vmdk", 1000}, {"file2", "ubuntu-disk-1.vmdk", 42}}
	got := d.Files()
	if len(got) != len(want) {
		t.Fatalf("Files() = %+v, want %+v (the vmw:File in a vendor section is not a reference)", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Files()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !bytes.Equal(d.Bytes(), raw) {
		t.Error("Bytes() of an unedited descriptor differs from the input")
	}
}

// An edit must change exactly the size value and nothing else: every
// prefix, comment, quote style, odd spacing and vendor section survives.
func TestSetFileSizePreservesEveryOtherByte(t *testing.T) {
	raw := string(mustRead(t, "testdata/vsphere-export.ovf"))
	d, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetFileSize("ubuntu-disk-1.vmdk", 123456789012); err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(raw, `ovf:size = "42"`, `ovf:size = "123456789012"`, 1)
	if got := string(d.Bytes()); got != want {
		t.Fatalf("after SetFileSize:\n%s\nwant:\n%s", got, want)
	}
	if err := d.SetFileSize("ubuntu-disk-0.vmdk", 7); err != nil {
		t.Fatal(err)
	}
	want = strings.Replace(want, `ovf:size="1000"`, `ovf:size="7"`, 1)
	if got := string(d.Bytes()); got != want {
		t.Fatalf("after second SetFileSize:\n%s\nwant:\n%s", got, want)
	}
	if f := d.Files(); f[0].Size != 7 || f[1].Size != 123456789012 {
		t.Errorf("Files() after edits = %+v", f)
	}
	if err := d.SetFileSize("nope.vmdk", 1); err == nil || !strings.Contains(err.Error(), `"nope.vmdk"`) {
		t.Errorf("SetFileSize of an unknown href: %v, want an error naming it", err)
	}
}

// Default namespace (no prefix on elements or attributes) and a non-"ovf"
// prefix are both matched by namespace URI; OVF 2 as well.
func TestParseByNamespaceNotPrefix(t *testing.T) {
	cases := map[string]string{
		"default ns, unprefixed attrs": `<?xml version="1.0"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References><File href="a.vmdk" id="f1" size="5"/></References></Envelope>`,
		"custom prefix": `<o:Envelope xmlns:o="http://schemas.dmtf.org/ovf/envelope/1"><o:References>
  <o:File o:href="a.vmdk" o:id="f1" o:size="5" /></o:References></o:Envelope>`,
		"ovf 2": `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/2" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/2"><References><File ovf:href="a.vmdk" ovf:id="f1" ovf:size="5"></File></References></Envelope>`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if f := d.Files(); len(f) != 1 || f[0] != (File{"f1", "a.vmdk", 5}) {
				t.Fatalf("Files() = %+v", f)
			}
			if err := d.SetFileSize("a.vmdk", 99); err != nil {
				t.Fatal(err)
			}
			want := strings.Replace(doc, `size="5"`, `size="99"`, 1)
			if got := string(d.Bytes()); got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestSetFileSizeInsertsMissingSize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<File ovf:href="a.vmdk" ovf:id="f1"/>`, `<File ovf:href="a.vmdk" ovf:id="f1" ovf:size="12"/>`},
		{`<File ovf:href="a.vmdk" ovf:id="f1" />`, `<File ovf:href="a.vmdk" ovf:id="f1" ovf:size="12" />`},
		{`<File ovf:href="a.vmdk" ovf:id="f1"></File>`, `<File ovf:href="a.vmdk" ovf:id="f1" ovf:size="12"></File>`},
	} {
		doc := `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>%s</References></Envelope>`
		d, err := Parse([]byte(strings.Replace(doc, "%s", tc.in, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if d.Files()[0].Size != -1 {
			t.Errorf("Size without ovf:size = %d, want -1", d.Files()[0].Size)
		}
		if err := d.SetFileSize("a.vmdk", 12); err != nil {
			t.Fatal(err)
		}
		if got, want := string(d.Bytes()), strings.Replace(doc, "%s", tc.want, 1); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	env := func(files string) string {
		return `<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References>` + files + `</References></Envelope>`
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"bad href", env(`<File ovf:id="file7" ovf:href="../etc/shadow"/>`), `id "file7"`},
		{"bad href names it", env(`<File ovf:id="file7" ovf:href="../etc/shadow"/>`), `"../etc/shadow"`},
		{"url", env(`<File ovf:id="f" ovf:href="https://x/y.vmdk"/>`), "URL"},
		{"no href", env(`<File ovf:id="f9"/>`), `(id "f9") at line`},
		{"bad size", env(`<File ovf:id="f" ovf:href="a" ovf:size="12x"/>`), `ovf:size "12x"`},
		{"negative size", env(`<File ovf:id="f" ovf:href="a" ovf:size="-1"/>`), `ovf:size "-1"`},
		{"duplicate", env(`<File ovf:id="f1" ovf:href="a"/><File ovf:id="f2" ovf:href="a"/>`), `both use href "a"`},
		{"not xml", `<Envelope`, "not well-formed XML (line 1"},
		{"wrong root", `<Envelope xmlns="urn:other"/>`, "is this an OVF descriptor"},
		{"empty", ``, "no Envelope"},
	} {
		_, err := Parse([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Parse error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestManifestParseVariants(t *testing.T) {
	d1 := strings.Repeat("ab", 32)
	d2 := strings.Repeat("CD", 32)
	in := "SHA256(x.ovf)= " + d1 + "\r\n" +
		"SHA256 (disk (1).vmdk) = " + d2 + "\r\n\n" +
		"SHA1(old.vmdk)= " + strings.Repeat("0", 40) + "\n"
	m, err := ParseManifest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []ManifestEntry{
		{"sha256", "x.ovf", d1},
		{"sha256", "disk (1).vmdk", strings.ToLower(d2)},
		{"sha1", "old.vmdk", strings.Repeat("0", 40)},
	}
	if len(m.Entries) != len(want) {
		t.Fatalf("entries = %+v", m.Entries)
	}
	for i := range want {
		if m.Entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, m.Entries[i], want[i])
		}
	}
	if e, ok := m.Lookup("disk (1).vmdk"); !ok || e.Digest != strings.ToLower(d2) {
		t.Errorf("Lookup = %+v, %v", e, ok)
	}
	if _, ok := m.Lookup("missing"); ok {
		t.Error("Lookup of a missing name succeeded")
	}
	wantOut := "SHA256(x.ovf)= " + d1 + "\nSHA256(disk (1).vmdk)= " + strings.ToLower(d2) + "\nSHA1(old.vmdk)= " + strings.Repeat("0", 40) + "\n"
	if got := string(m.Bytes()); got != wantOut {
		t.Errorf("Bytes() = %q, want %q", got, wantOut)
	}
}

func TestManifestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"garbage\n", `line 1 "garbage"`},
		{"SHA256(a)= " + strings.Repeat("a", 63) + "\n", "has 63 hex digits, want 64"},
		{"\nMD5(a)= " + strings.Repeat("a", 32), "line 2: unsupported algorithm \"MD5\""},
		{"SHA256(a)= xyz", "line 1"},
	} {
		_, err := ParseManifest([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseManifest(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestNewHash(t *testing.T) {
	for alg, size := range map[string]int{"sha1": 20, "sha256": 32, "sha512": 64, "SHA256": 32} {
		h, err := NewHash(alg)
		if err != nil || h.Size() != size {
			t.Errorf("NewHash(%q) = size %v, %v; want %d", alg, h, err, size)
		}
	}
	if _, err := NewHash("md5"); err == nil || !strings.Contains(err.Error(), `"md5"`) || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("NewHash(md5) = %v, want an error naming it and the choices", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(mustReadF(f, "testdata/vsphere-export.ovf"))
	f.Add([]byte(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References><File href="a" size="1"/></References></Envelope>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		for _, file := range d.Files() {
			if err := CheckHref(file.Href); err != nil {
				t.Fatalf("Parse accepted href %q: %v", file.Href, err)
			}
			if err := d.SetFileSize(file.Href, 31337); err != nil {
				t.Fatalf("SetFileSize(%q): %v", file.Href, err)
			}
		}
		for _, file := range d.Files() {
			if file.Size != 31337 {
				t.Fatalf("after SetFileSize, %q has size %d", file.Href, file.Size)
			}
		}
	})
}

func FuzzCheckHref(f *testing.F) {
	for _, s := range []string{"disk.vmdk", "../x", "http://x", "a\\b", "C:x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckHref(s) != nil {
			return
		}
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
			t.Fatalf("CheckHref accepted %q", s)
		}
	})
}

func mustReadF(f *testing.F, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// Whatever ParseManifest accepts renders to ovftool's format and parses back
// to the same entries.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("SHA256(a.ovf)= " + strings.Repeat("ab", 32) + "\r\nSHA1 (b) = " + strings.Repeat("0", 40) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		m2, err := ParseManifest(m.Bytes())
		if err != nil {
			t.Fatalf("re-parsing %q: %v", m.Bytes(), err)
		}
		if len(m2.Entries) != len(m.Entries) {
			t.Fatalf("round trip changed the entry count: %+v vs %+v", m.Entries, m2.Entries)
		}
		for i := range m.Entries {
			if m.Entries[i] != m2.Entries[i] {
				t.Fatalf("round trip changed entry %d: %+v vs %+v", i, m.Entries[i], m2.Entries[i])
			}
		}
	})
}
