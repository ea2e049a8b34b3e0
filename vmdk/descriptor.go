package vmdk

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Descriptor is a parsed VMDK descriptor: the text embedded in a sparse
// extent, or a descriptor file beside flat/split extents.
type Descriptor struct {
	CID       string
	ParentCID string
	// ParentFileNameHint names a delta disk's parent (parentFileNameHint).
	ParentFileNameHint string
	CreateType         string
	Extents            []Extent
	// DDB holds the disk database ("ddb.adapterType" -> "lsilogic").
	DDB map[string]string
}

// Extent is one line of a descriptor's extent description.
type Extent struct {
	Access  string // RW, RDONLY or NOACCESS
	Sectors uint64
	Type    string // SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE, ...
	File    string // relative to the descriptor; empty for ZERO
	Offset  uint64 // sectors into File (FLAT)
}

// maxDescriptorBytes bounds a descriptor file read whole into memory.
const maxDescriptorBytes = 1 << 20

// ParseDescriptor parses descriptor text. Unknown keys are kept in DDB (ddb.*)
// or ignored; malformed extent lines are errors, with their line number.
func ParseDescriptor(text string) (*Descriptor, error) {
	if len(text) > maxDescriptorBytes {
		return nil, fmt.Errorf("VMDK descriptor of %d bytes exceeds %d", len(text), maxDescriptorBytes)
	}
	d := &Descriptor{DDB: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(strings.TrimRight(text, "\x00")))
	sc.Buffer(make([]byte, 4096), maxDescriptorBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(strings.TrimRight(sc.Text(), "\x00"))
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && !strings.ContainsAny(k, "\"") {
			k = strings.TrimSpace(k)
			v = unquote(strings.TrimSpace(stripComment(v)))
			switch {
			case k == "CID":
				d.CID = v
			case k == "parentCID":
				d.ParentCID = v
			case k == "parentFileNameHint":
				d.ParentFileNameHint = v
			case k == "createType":
				d.CreateType = v
			case strings.HasPrefix(k, "ddb."):
				d.DDB[k] = v
			}
			continue
		}
		e, err := parseExtent(line)
		if err != nil {
			return nil, fmt.Errorf("VMDK descriptor line %d %q: %w", n, line, err)
		}
		d.Extents = append(d.Extents, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading VMDK descriptor: %w", err)
	}
	return d, nil
}

// stripComment drops a trailing "# ..." after a quoted value (open-vmdk
// writes such comments).
func stripComment(v string) string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "\"") {
		if end := strings.Index(v[1:], "\""); end >= 0 {
			return v[:end+2]
		}
		return v
	}
	if i := strings.Index(v, "#"); i >= 0 {
		return v[:i]
	}
	return v
}

func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// parseExtent parses `RW 8388608 SPARSE "disk.vmdk"` or
// `RW 8388608 FLAT "disk-flat.vmdk" 0` or `RW 2048 ZERO`.
func parseExtent(line string) (Extent, error) {
	var e Extent
	fields := strings.Fields(line)
	if len(fields) < 3 {
		return e, fmt.Errorf("want ACCESS SECTORS TYPE [\"FILE\" [OFFSET]]")
	}
	e.Access, e.Type = fields[0], fields[2]
	switch e.Access {
	case "RW", "RDONLY", "NOACCESS":
	default:
		return e, fmt.Errorf("unknown access %q (want RW, RDONLY or NOACCESS)", e.Access)
	}
	n, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil || n > maxCapacity {
		return e, fmt.Errorf("extent size %q is not a sector count up to %d", fields[1], uint64(maxCapacity))
	}
	e.Sectors = n
	if e.Type == "ZERO" {
		return e, nil
	}
	// The file name is quoted and may hold blanks.
	rest := strings.TrimSpace(line[strings.Index(line, fields[2])+len(fields[2]):])
	if !strings.HasPrefix(rest, "\"") {
		return e, fmt.Errorf("file name must be quoted")
	}
	end := strings.Index(rest[1:], "\"")
	if end < 0 {
		return e, fmt.Errorf("unterminated file name")
	}
	e.File = rest[1 : end+1]
	if tail := strings.TrimSpace(rest[end+2:]); tail != "" {
		off, err := strconv.ParseUint(tail, 10, 64)
		if err != nil || off > maxCapacity {
			return e, fmt.Errorf("extent offset %q is not a sector count", tail)
		}
		e.Offset = off
	}
	return e, nil
}

// descriptorText renders the embedded descriptor the way vSphere exports it:
// the header lines, one RDONLY SPARSE extent named "generated-stream.vmdk"
// (ESXi's name, whatever the file is called), and the disk database in
// alphabetical order.
func descriptorText(o *Options, capacity uint64) (string, error) {
	cid := o.CID
	for cid == 0 || cid == 0xffffffff || cid == 0xfffffffe {
		// 0xffffffff and 0xfffffffe mean "no parent"/"all zeros" to some
		// readers (open-vmdk), so they are never used.
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		cid = binary.LittleEndian.Uint32(b[:])
	}
	long := o.LongContentID
	if long == "" {
		var b [16]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		long = hex.EncodeToString(b[:])
	}
	adapter := o.AdapterType
	if adapter == "" {
		adapter = "lsilogic"
	}
	heads, sectors, cylinders := geometry(adapter, capacity)
	hw := o.HardwareVersion
	if hw == 0 {
		hw = 4
	}
	tools := o.ToolsInstallType
	if tools == "" {
		tools = "4"
	}
	toolsVersion := o.ToolsVersion
	if toolsVersion == "" {
		toolsVersion = "2147483647"
	}
	extent := o.ExtentFile
	if extent == "" {
		extent = "generated-stream.vmdk"
	}
	ddb := map[string]string{
		"ddb.adapterType":        adapter,
		"ddb.geometry.cylinders": strconv.FormatUint(cylinders, 10),
		"ddb.geometry.heads":     strconv.FormatUint(heads, 10),
		"ddb.geometry.sectors":   strconv.FormatUint(sectors, 10),
		"ddb.longContentID":      long,
		"ddb.toolsInstallType":   tools,
		"ddb.toolsVersion":       toolsVersion,
		"ddb.virtualHWVersion":   strconv.Itoa(hw),
	}
	for k, v := range o.ExtraDDB {
		ddb[k] = v
	}
	keys := make([]string, 0, len(ddb))
	for k := range ddb {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "# Disk DescriptorFile\nversion=1\nencoding=\"UTF-8\"\nCID=%08x\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n", cid)
	fmt.Fprintf(&b, "# Extent description\nRDONLY %d SPARSE \"%s\"\n\n", capacity, extent)
	b.WriteString("# The Disk Data Base\n#DDB\n\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = \"%s\"\n", k, ddb[k])
	}
	return b.String(), nil
}

// geometry is the BIOS geometry VMware records for a disk of capacity
// sectors: IDE disks use 16 heads, SCSI disks the 64/32, 128/32 or 255/63
// translation by size, and cylinders are rounded down and capped (ESXi
// exports show floor(capacity/(heads*sectors)), e.g. 1435 for 23068672).
func geometry(adapter string, capacity uint64) (heads, sectors, cylinders uint64) {
	maxCyl := uint64(65535)
	switch {
	case adapter == "ide":
		heads, sectors, maxCyl = 16, 63, 16383
	case capacity < (1<<30)/SectorSize:
		heads, sectors = 64, 32
	case capacity < (2<<30)/SectorSize:
		heads, sectors = 128, 32
	default:
		heads, sectors = 255, 63
	}
	cylinders = min(capacity/(heads*sectors), maxCyl)
	return heads, sectors, max(cylinders, 1)
}

// AdapterTypes are the values ddb.adapterType may take.
var AdapterTypes = []string{"ide", "buslogic", "lsilogic", "legacyESX"}
