package ovftarget

import (
	"encoding/xml"
	"strconv"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// Ranks of the sections this package writes, in the order vCenter writes
// them after the VirtualHardwareSection (and vmw:BootOrderSection):
// AnnotationSection, ProductSection, EulaSection.
const (
	rankAnnotation = 1 + iota
	rankProduct
	rankEula
)

func sectionRank(e *ovf.Element) int {
	switch {
	case ovf.IsOVF(e, "VirtualHardwareSection"), e.Name.Space == ovf.NamespaceVMW && e.Name.Local == "BootOrderSection":
		return 0
	case ovf.IsOVF(e, "AnnotationSection"):
		return rankAnnotation
	case ovf.IsOVF(e, "ProductSection"):
		return rankProduct
	case ovf.IsOVF(e, "EulaSection"):
		return rankEula
	}
	return -1
}

// insertSection puts a new section into vs after the hardware section and
// the sections that precede it in vCenter's order; OVF's schema allows any
// section order inside a VirtualSystem, so this only keeps diffs familiar.
func (s *session) insertSection(ed *ovf.Editor, vs *ovf.Element, n *ovf.Node, rank int) {
	var anchor *ovf.Element
	for _, c := range vs.Children() {
		if r := sectionRank(c); r >= 0 && r <= rank {
			anchor = c
		}
	}
	if anchor != nil {
		ed.InsertAfter(anchor, n)
		return
	}
	ed.Append(vs, n)
}

func (s *session) node(local, text string, children ...*ovf.Node) *ovf.Node {
	return &ovf.Node{Name: s.name(local), Text: text, Children: children}
}

func (s *session) annotation() error {
	if s.c.Annotation == "" {
		return nil
	}
	vs, err := s.singleSystem("annotation")
	if err != nil {
		return err
	}
	ed := s.doc.Edit()
	if sec := vs.Child(s.ns, "AnnotationSection"); sec != nil {
		if a := sec.Child(s.ns, "Annotation"); a != nil {
			ed.SetText(a, s.c.Annotation)
		} else {
			ed.Append(sec, s.node("Annotation", s.c.Annotation))
		}
	} else {
		s.insertSection(ed, vs, s.node("AnnotationSection", "",
			s.node("Info", "A human-readable annotation"),
			s.node("Annotation", s.c.Annotation)), rankAnnotation)
	}
	return s.apply(ed)
}

func (s *session) eulaSection() error {
	if s.c.eula == "" {
		return nil
	}
	vs, err := s.singleSystem("eula")
	if err != nil {
		return err
	}
	ed := s.doc.Edit()
	if sec := vs.Child(s.ns, "EulaSection"); sec != nil {
		if l := sec.Child(s.ns, "License"); l != nil {
			ed.SetText(l, s.c.eula)
		} else {
			ed.Append(sec, s.node("License", s.c.eula))
		}
	} else {
		s.insertSection(ed, vs, s.node("EulaSection", "",
			s.node("Info", "An end-user license agreement"),
			s.node("License", s.c.eula)), rankEula)
	}
	return s.apply(ed)
}

// productFields is the ProductSection content model (DSP8023 schema:
// Info, Product, Vendor, Version, FullVersion, ProductUrl, VendorUrl,
// AppUrl, Icon*, then Category and Property in any order).
var productFields = []string{"Info", "Product", "Vendor", "Version", "FullVersion", "ProductUrl", "VendorUrl", "AppUrl", "Icon"}

func (p Product) values() map[string]string {
	return map[string]string{
		"Product": p.Name, "Vendor": p.Vendor, "Version": p.Version, "FullVersion": p.FullVersion,
		"ProductUrl": p.ProductURL, "VendorUrl": p.VendorURL, "AppUrl": p.AppURL,
	}
}

func fieldIndex(local string) int {
	for i, f := range productFields {
		if f == local {
			return i
		}
	}
	return len(productFields) // Category, Property, anything else
}

// properties merges the cloud-init shortcut with the user's blocks: a user
// block replaces the built-in one of the same key in place.
func (s *session) properties() []Property {
	var out []Property
	if s.c.CloudInitProperties {
		out = append(out, cloudInitProperties()...)
	}
	for _, p := range s.c.Properties {
		replaced := false
		for i := range out {
			if out[i].Key == p.Key {
				out[i], replaced = p, true
			}
		}
		if !replaced {
			out = append(out, p)
		}
	}
	return out
}

// product is long because it handles both a new ProductSection and an
// existing one edited in place, which share the field order and options.
func (s *session) product() error {
	props := s.properties()
	for _, p := range props {
		if w := dottedKeyWarning(p.Key); w != "" {
			s.warn("%s", w)
		}
	}
	if s.c.Product.empty() && len(props) == 0 {
		return nil
	}
	option := "product"
	if s.c.Product.empty() {
		option = "property"
	}
	vs, err := s.singleSystem(option)
	if err != nil {
		return err
	}
	var sec *ovf.Element
	for _, c := range vs.ChildrenNamed(s.ns, "ProductSection") {
		if _, classed := ovf.OVFAttr(c, "class"); !classed {
			sec = c
			break
		}
	}
	values := s.c.Product.values()
	if sec == nil {
		children := []*ovf.Node{s.node("Info", "Information about the installed software")}
		for _, f := range productFields {
			if v := values[f]; v != "" {
				children = append(children, s.node(f, v))
			}
		}
		children = append(children, s.propertyNodes(props)...)
		ed := s.doc.Edit()
		s.insertSection(ed, vs, s.node("ProductSection", "", children...), rankProduct)
		return s.apply(ed)
	}

	// An existing section: set its fields in place, insert missing ones in
	// schema order, and replace properties the user redeclares (removed in
	// this round, added in the next, so the edits never overlap).
	ed := s.doc.Edit()
	keys := map[string]bool{}
	for _, p := range props {
		keys[p.Key] = true
	}
	for _, f := range productFields {
		v := values[f]
		if v == "" {
			continue
		}
		if el := sec.Child(s.ns, f); el != nil {
			ed.SetText(el, v)
			continue
		}
		var after *ovf.Element
		for _, c := range sec.Children() {
			if c.Name.Space == s.ns && fieldIndex(c.Name.Local) < fieldIndex(f) {
				after = c
			}
		}
		if after != nil {
			ed.InsertAfter(after, s.node(f, v))
		} else if cs := sec.Children(); len(cs) > 0 {
			ed.InsertBefore(cs[0], s.node(f, v))
		} else {
			ed.Append(sec, s.node(f, v))
		}
	}
	for _, p := range sec.ChildrenNamed(s.ns, "Property") {
		if k, _ := ovf.OVFAttr(p, "key"); keys[k] {
			ed.Remove(p)
		}
	}
	if err := s.apply(ed); err != nil {
		return err
	}
	if len(props) == 0 {
		return nil
	}
	vs, _ = s.singleSystem(option)
	for _, c := range vs.ChildrenNamed(s.ns, "ProductSection") {
		if _, classed := ovf.OVFAttr(c, "class"); !classed {
			sec = c
			break
		}
	}
	ed = s.doc.Edit()
	for _, n := range s.propertyNodes(props) {
		ed.Append(sec, n)
	}
	return s.apply(ed)
}

// propertyNodes writes the properties, those without a category first, then
// each category's heading followed by its properties (DSP0243 9.5.1: a
// Category element groups the properties after it).
func (s *session) propertyNodes(props []Property) []*ovf.Node {
	var order []string
	groups := map[string][]Property{}
	for _, p := range props {
		if _, ok := groups[p.Category]; !ok && p.Category != "" {
			order = append(order, p.Category)
		}
		groups[p.Category] = append(groups[p.Category], p)
	}
	var out []*ovf.Node
	for _, p := range groups[""] {
		out = append(out, s.propertyNode(p))
	}
	for _, cat := range order {
		out = append(out, s.node("Category", cat))
		for _, p := range groups[cat] {
			out = append(out, s.propertyNode(p))
		}
	}
	return out
}

func (s *session) propertyNode(p Property) *ovf.Node {
	attr := func(local, v string) xml.Attr { return xml.Attr{Name: s.name(local), Value: v} }
	uc := p.UserConfigurable == nil || *p.UserConfigurable
	n := &ovf.Node{Name: s.name("Property"), Attrs: []xml.Attr{attr("key", p.Key), attr("type", p.typ())}}
	if p.Qualifiers != "" {
		n.Attrs = append(n.Attrs, attr("qualifiers", p.Qualifiers))
	}
	n.Attrs = append(n.Attrs, attr("userConfigurable", strconv.FormatBool(uc)), attr("value", p.Value))
	if p.Password {
		n.Attrs = append(n.Attrs, attr("password", "true"))
	}
	if p.Label != "" {
		n.Children = append(n.Children, s.node("Label", p.Label))
	}
	if p.Description != "" {
		n.Children = append(n.Children, s.node("Description", p.Description))
	}
	return n
}

// transport declares how vSphere delivers property values, on every
// VirtualHardwareSection: without ovf:transport the values never reach the
// guest.
func (s *session) transport() error {
	explicit := len(s.c.PropertyTransport) > 0
	if !explicit && len(s.properties()) == 0 {
		return nil
	}
	ed := s.doc.Edit()
	for _, hw := range ovf.AllHardwareSections(s.doc) {
		have, _ := ovf.OVFAttr(hw, "transport")
		var want []string
		if explicit {
			want = s.c.PropertyTransport
		} else {
			want = strings.Fields(have)
			for _, t := range []string{TransportGuestInfo, TransportISO} {
				if !contains(want, t) {
					want = append(want, t)
				}
			}
		}
		if v := strings.Join(want, " "); v != have {
			ed.SetAttr(hw, s.transportName(hw), v)
		}
	}
	return s.apply(ed)
}

// transportName keeps the attribute's existing spelling (some tools write
// an unprefixed transport inside a default OVF namespace).
func (s *session) transportName(hw *ovf.Element) xml.Name {
	for _, a := range hw.Attrs() {
		if a.Name.Local == "transport" && (a.Name.Space == "" || a.Name.Space == s.ns) {
			return a.Name
		}
	}
	return s.name("transport")
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// cloudInitProperties are the keys cloud-init's OVF datasource reads from
// the OVF environment (cloudinit/sources/DataSourceOVF.py,
// read_ovf_environment: md_props seedfrom, local-hostname (from
// "hostname"), public-keys, instance-id; cfg_props password; "user-data",
// base64-decoded when it decodes).
func cloudInitProperties() []Property {
	return []Property{
		{Key: "instance-id", Label: "Instance ID",
			Description: "Unique instance ID; cloud-init runs its per-instance modules again when it changes."},
		{Key: "hostname", Label: "Hostname", Description: "Host name of the appliance (cloud-init's local-hostname)."},
		{Key: "seedfrom", Label: "Seed URL", Description: "URL to fetch further user-data and meta-data from (NoCloud seed), if any."},
		{Key: "public-keys", Label: "SSH public keys", Description: "SSH public keys for the default user, one per line."},
		{Key: "user-data", Label: "Encoded user-data", Description: "cloud-init user-data, base64-encoded (#cloud-config, a script, ...)."},
		{Key: "password", Label: "Default user's password", Password: true, Description: "Password for the default user (cloud-init may ask for a new one at first login)."},
	}
}
