package k3sbundle

import (
	"bytes"
	"embed"
	"fmt"
	"path"
	"strings"
	"text/template"
)

// IdentityPath is one place where a start of k3s leaves what makes a cluster
// or node unique.
type IdentityPath struct {
	// Path on the guest.
	Path string
	// Keep, when set, makes Path a folder that stays, with all its entries
	// removed except the one named Keep.
	Keep string
}

// IdentityPaths are removed after `verify` stopped k3s: everything a start
// creates that makes a cluster or node unique (CA and serving keys, join
// tokens, admin credentials, the datastore, the node password, agent
// certificates and kubeconfigs) plus runtime state of the pods it ran. The
// bundled images under agent/images and the installed manifests, charts and
// config stay. The guest script's clear_identity is generated from this
// list, and a test checks docs/provisioners/k3s-bundle.mdx names each path.
var IdentityPaths = []IdentityPath{
	{Path: "/var/lib/rancher/k3s/server/tls"},
	{Path: "/var/lib/rancher/k3s/server/cred"},
	{Path: "/var/lib/rancher/k3s/server/db"},
	{Path: "/var/lib/rancher/k3s/server/token"},
	{Path: "/var/lib/rancher/k3s/server/agent-token"},
	{Path: "/var/lib/rancher/k3s/server/node-token"},
	{Path: "/var/lib/rancher/k3s/server/etc"},
	{Path: "/var/lib/rancher/k3s/server/kine.sock"},
	{Path: "/var/lib/rancher/k3s/agent", Keep: "images"},
	{Path: "/etc/rancher/k3s/k3s.yaml"},
	{Path: "/etc/rancher/node"},
	{Path: "/var/lib/kubelet"},
	{Path: "/var/lib/cni"},
	{Path: "/run/k3s"},
	{Path: "/run/flannel"},
	{Path: "/var/log/pods"},
	{Path: "/var/log/containers"},
}

// The guest's files are real shell, unit and YAML files under guest/,
// rendered with text/template; `sh` quotes a value for POSIX sh.
//
//go:embed guest
var guestFS embed.FS

var guestTemplates = template.Must(template.New("guest").
	Funcs(template.FuncMap{"sh": shq}).
	ParseFS(guestFS, "guest/*.tmpl"))

// shq quotes s for POSIX sh.
func shq(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// render executes one template of guest/. A failure is a bug in the
// templates, which the tests render in every variant.
func render(name string, data any) []byte {
	var b bytes.Buffer
	if err := guestTemplates.ExecuteTemplate(&b, name, data); err != nil {
		panic(fmt.Sprintf("k3sbundle: rendering guest/%s: %v", name, err))
	}
	return b.Bytes()
}

// guestFile is an embedded file of guest/ as is.
func guestFile(name string) []byte {
	b, err := guestFS.ReadFile("guest/" + name)
	if err != nil {
		panic(fmt.Sprintf("k3sbundle: guest/%s: %v", name, err))
	}
	return b
}

// placed is one `place` line of the script: staged name, guest path, mode.
type placed struct{ Name, Dest, Mode string }

// scriptData is what guest/k3s-bundle.sh.tmpl renders from.
type scriptData struct {
	Staging, BinDir string
	// Native: the provisioner installs the unit and links itself (no
	// install_script).
	Native        bool
	Tools         []string
	Files         []placed
	InstallEnv    []string // install_script's environment
	Verify        bool
	VerifySeconds int
	Images        []string // references verify waits for
	Cleanup       bool
	ZeroFill      bool
	Identity      []IdentityPath
}

// installScript is the one script run as root on the guest. It places every
// staged file through a temp name in the destination folder and a rename,
// journals what it created or replaced, and on any failure (or signal) undoes
// the journal, so the guest is left as it was.
func installScript(c *Config, staging string, files []file, images []string) string {
	d := scriptData{
		Staging:  staging,
		BinDir:   c.BinDir,
		Native:   c.InstallScript == "",
		Tools:    []string{"cp", "mv", "chmod", "chown", "dirname", "basename", "tac", "find"},
		Verify:   c.Verify,
		Images:   images,
		Cleanup:  c.Cleanup,
		ZeroFill: c.ZeroFill,
		Identity: IdentityPaths,
	}
	if c.Verify {
		d.Tools = append(d.Tools, "awk", "grep", "date")
		d.VerifySeconds = max(int(c.VerifyTimeout.Seconds()), 1)
	}
	for _, f := range files {
		if f.dest != "" {
			d.Files = append(d.Files, placed{Name: f.name, Dest: f.dest, Mode: f.mode})
		}
	}
	if !d.Native {
		d.InstallEnv = append([]string{"INSTALL_K3S_SKIP_DOWNLOAD=true", "INSTALL_K3S_SKIP_START=true", "INSTALL_K3S_BIN_DIR=" + c.BinDir}, c.InstallScriptEnv...)
	}
	return string(render("k3s-bundle.sh.tmpl", d))
}

// nativeFiles are what upstream install.sh would write, for guests where it is
// not available offline.
func nativeFiles(bin string) []file {
	d := struct{ BinDir string }{bin}
	return []file{
		{data: render("k3s.service.tmpl", d), dest: "/etc/systemd/system/k3s.service", mode: "0644", label: "k3s.service unit"},
		{data: guestFile("k3s.service.env"), dest: "/etc/systemd/system/k3s.service.env", mode: "0600", label: "k3s.service.env"},
		{data: guestFile("k3s-killall.sh"), dest: path.Join(bin, "k3s-killall.sh"), mode: "0755", label: "k3s-killall.sh"},
		{data: render("k3s-uninstall.sh.tmpl", d), dest: path.Join(bin, "k3s-uninstall.sh"), mode: "0755", label: "k3s-uninstall.sh"},
	}
}

// helmChart is the HelmChart manifest that installs the bundled chart file
// as name.
func helmChart(name, file string) []byte {
	return render("helmchart.yaml.tmpl", struct{ Name, File string }{name, file})
}
