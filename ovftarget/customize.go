// Package ovftarget turns a vSphere export's OVF descriptor into one for a
// given import target (vSphere, VMware Workstation, VirtualBox, or all of
// them), applying the user's descriptor options (product, annotation, EULA,
// vApp properties, hardware version, NVRAM, devices) as faithful edits:
// every byte not asked to change stays as vCenter wrote it.
//
// It has no Packer imports except the generated HCL2 spec that lets the
// post-processor squash Customization into its Config.
package ovftarget

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// Result is a customized descriptor.
type Result struct {
	// Descriptor is the new descriptor. Its References still carry the sizes
	// of the export: the packer sets sizes (ovf.Descriptor.SetFileSize) and
	// writes the manifest afterwards, as for an unchanged export.
	Descriptor []byte
	// Dropped lists the References hrefs removed (the .nvram, a removed
	// CD-ROM's ISO): do not pack them or list them in the manifest.
	Dropped []string
	// Warnings are for the build output: what the target loses.
	Warnings []string
}

// Customize applies target's rules and c's options to descriptor. c must
// have passed Prepare. With target vsphere and no options set, the
// descriptor comes back byte for byte.
func Customize(descriptor []byte, target Target, c *Customization) (*Result, error) {
	if !target.valid() {
		return nil, fmt.Errorf("target: unknown target %q; use one of %s", target, targetNames())
	}
	if c == nil {
		c = &Customization{}
	}
	if c.EULAFile != "" && c.eula == "" {
		return nil, errors.New("eula_file: not read yet; call Customization.Prepare first")
	}
	d, err := ovf.Parse(descriptor)
	if err != nil {
		return nil, err
	}
	s := &session{doc: d.Document(), target: target, rules: target.rules(), c: c, ns: d.Namespace()}
	steps := []func() error{
		s.removeDevices,
		s.nvram,
		s.dropUnreferencedFiles,
		s.hardwareVersion,
		s.optionalItems,
		s.storageSubtypes,
		s.memoryUnits,
		s.osID,
		s.firmwareLoss,
		s.annotation,
		s.product,
		s.eulaSection,
		s.transport,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	out := s.doc.Bytes()
	if _, err := ovf.Parse(out); err != nil {
		return nil, fmt.Errorf("internal error: customized descriptor does not read back: %w", err)
	}
	return &Result{Descriptor: out, Dropped: s.dropped, Warnings: s.warnings}, nil
}

// session carries the descriptor through the steps. Each step reads the
// current document, makes one round of edits and replaces it.
type session struct {
	doc      *ovf.Document
	target   Target
	rules    rules
	c        *Customization
	ns       string // the OVF envelope namespace
	dropped  []string
	drop     map[string]bool // hrefs to drop once nothing references them
	warnings []string
}

func (s *session) warn(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf("%s: ", s.target)+fmt.Sprintf(format, args...))
}

func (s *session) apply(ed *ovf.Editor) error {
	doc, err := ed.Apply()
	if err != nil {
		return err
	}
	s.doc = doc
	return nil
}

// name is an element or attribute name in the descriptor's OVF namespace.
func (s *session) name(local string) xml.Name { return xml.Name{Space: s.ns, Local: local} }

// singleSystem returns the one VirtualSystem the descriptor options go to.
func (s *session) singleSystem(option string) (*ovf.Element, error) {
	vs := ovf.VirtualSystems(s.doc)
	switch len(vs) {
	case 1:
		return vs[0], nil
	case 0:
		return nil, fmt.Errorf("%s: the descriptor has no VirtualSystem to put it in", option)
	}
	return nil, fmt.Errorf("%s: the descriptor holds %d VirtualSystems (a vApp); %s is supported for a single VM only", option, len(vs), option)
}

func lower(ss []string) map[string]bool {
	m := map[string]bool{}
	for _, s := range ss {
		m[strings.ToLower(s)] = true
	}
	return m
}
