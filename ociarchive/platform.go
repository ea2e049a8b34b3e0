package ociarchive

import (
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func parsePlatform(s string) (v1.Platform, error) {
	if s == "" {
		s = "linux/amd64"
	}
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" {
		return v1.Platform{}, fmt.Errorf("platform %q is not os/arch[/variant]; use e.g. linux/amd64 or linux/arm64", s)
	}
	return *p, nil
}

// matches reports whether have is usable for want: OS and architecture
// equal, want's variant (if any) equal, with arm64's default variant v8
// equal to none, as containerd treats it. anyVariant skips the variant.
func matches(have, want v1.Platform, anyVariant bool) bool {
	if have.OS != want.OS || have.Architecture != want.Architecture {
		return false
	}
	if anyVariant || want.Variant == "" {
		return true
	}
	hv, wv := have.Variant, want.Variant
	if have.Architecture == "arm64" {
		if hv == "" {
			hv = "v8"
		}
		if wv == "" {
			wv = "v8"
		}
	}
	return hv == wv
}

func platformString(p *v1.Platform) string {
	if p == nil {
		return "unknown"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// pick chooses the index entry for the target platform: an exact variant
// match first, else the first that satisfies it (linux/arm64 takes
// linux/arm64/v8).
func pick(ref string, im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	var avail []string
	var found *v1.Descriptor
	for i := range im.Manifests {
		d := im.Manifests[i]
		if d.Platform == nil {
			continue
		}
		// Attestation manifests (unknown/unknown) are not platforms.
		if d.Platform.OS != "unknown" {
			avail = append(avail, platformString(d.Platform))
		}
		if !matches(*d.Platform, want, false) {
			continue
		}
		if found == nil || (d.Platform.Variant == want.Variant && found.Platform.Variant != want.Variant) {
			found = &im.Manifests[i]
		}
	}
	if found == nil {
		sort.Strings(avail)
		return v1.Descriptor{}, fmt.Errorf("image %q has no %s image; available platforms: [%s]; pick another tag or set the platform", ref, platformString(&want), strings.Join(avail, " "))
	}
	return *found, nil
}

// checkConfigPlatform fails when a single-platform image's config names
// another platform than want: k3s would import it and then fail to run it.
// Configs without os/architecture pass.
func checkConfigPlatform(ref string, cf *v1.ConfigFile, want v1.Platform) error {
	if cf.OS == "" || cf.Architecture == "" {
		return nil
	}
	have := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	// Many single-platform configs leave the variant out.
	if matches(have, want, have.Variant == "") {
		return nil
	}
	return fmt.Errorf("image %q is for platform %s only (a single-platform image), not %s; available platforms: [%s]; pick another tag or set the platform", ref, platformString(&have), platformString(&want), platformString(&have))
}
