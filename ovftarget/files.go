package ovftarget

import (
	"regexp"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

var fileRefRE = regexp.MustCompile(`^ovf:/+file/(.+)$`)

// fileRefID reads "ovf:/file/<id>", the form HostResource and vmw values
// use to point at a References/File.
func fileRefID(v string) (string, bool) {
	m := fileRefRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return "", false
	}
	return m[1], true
}

func (s *session) files() []ovf.File {
	d, err := ovf.NewDescriptor(s.doc)
	if err != nil {
		return nil
	}
	return d.Files()
}

func (s *session) hrefOfID(id string) string {
	for _, f := range s.files() {
		if f.ID == id {
			return f.Href
		}
	}
	return ""
}

func (s *session) markDrop(href string) {
	if href == "" {
		return
	}
	if s.drop == nil {
		s.drop = map[string]bool{}
	}
	s.drop[href] = true
}

// nvram drops the .nvram file and every reference to it when the user or
// the target asks. vSphere references it as
// <vmw:ExtraConfig vmw:key="nvram" vmw:value="ovf:/file/fileN"/> (or with a
// plain file name) in the VirtualHardwareSection.
func (s *session) nvram() error {
	drop := s.c.NVRAM == "drop"
	if s.rules.dropNVRAM {
		if s.c.NVRAM == "keep" && s.hasNVRAM() {
			s.warn(`nvram = "keep" does not apply: VirtualBox cannot take the .nvram file, so this OVA leaves it out`)
		}
		drop = true
	}
	if !drop {
		return nil
	}
	ed := s.doc.Edit()
	ids := map[string]bool{}
	for _, f := range s.files() {
		if strings.HasSuffix(strings.ToLower(f.Href), ".nvram") {
			s.markDrop(f.Href)
			ids[f.ID] = true
		}
	}
	for _, c := range vmwConfigs(s.doc, "ExtraConfig") {
		k, v := ovf.VMwKey(c)
		if k != "nvram" {
			continue
		}
		ed.Remove(c)
		if id, ok := fileRefID(v); ok {
			s.markDrop(s.hrefOfID(id))
			ids[id] = true
		} else if v != "" {
			s.markDrop(v)
		}
	}
	for _, it := range ovf.Items(s.doc) {
		for _, hr := range it.HostResource {
			if id, ok := fileRefID(hr); ok && ids[id] {
				ed.Remove(it.Elem)
				break
			}
		}
	}
	return s.apply(ed)
}

func (s *session) hasNVRAM() bool {
	for _, f := range s.files() {
		if strings.HasSuffix(strings.ToLower(f.Href), ".nvram") {
			return true
		}
	}
	for _, c := range vmwConfigs(s.doc, "ExtraConfig") {
		if k, _ := ovf.VMwKey(c); k == "nvram" {
			return true
		}
	}
	return false
}

// dropUnreferencedFiles removes the References/File entries marked for
// dropping, unless something in the descriptor still points at them.
func (s *session) dropUnreferencedFiles() error {
	if len(s.drop) == 0 {
		return nil
	}
	d, err := ovf.NewDescriptor(s.doc)
	if err != nil {
		return err
	}
	used := referencedFileIDs(s.doc)
	ed := s.doc.Edit()
	for _, f := range d.Files() {
		if !s.drop[f.Href] {
			continue
		}
		if used[f.ID] {
			s.warn("kept %s: it is still referenced as file id %q", f.Href, f.ID)
			continue
		}
		ed.Remove(d.FileElement(f.Href))
		s.dropped = append(s.dropped, f.Href)
	}
	return s.apply(ed)
}

// referencedFileIDs collects the File ids named anywhere outside References:
// Disk/@ovf:fileRef and every "ovf:/file/<id>" value or text.
func referencedFileIDs(doc *ovf.Document) map[string]bool {
	used := map[string]bool{}
	for _, top := range doc.Root().Children() {
		if ovf.IsOVF(top, "References") {
			continue
		}
		top.Walk(func(e *ovf.Element) bool {
			if ovf.IsOVF(e, "Disk") {
				if v, ok := ovf.OVFAttr(e, "fileRef"); ok {
					used[v] = true
				}
			}
			for _, a := range e.Attrs() {
				if id, ok := fileRefID(a.Value); ok {
					used[id] = true
				}
			}
			if len(e.Children()) == 0 {
				if id, ok := fileRefID(e.Text()); ok {
					used[id] = true
				}
			}
			return true
		})
	}
	return used
}
