// Package k3sstandin holds, for tests, a STAND-IN for the k3s binary and a
// loopback k3s release mirror that serves it. Real k3s cannot be downloaded
// here, so the tests of the k3s-bundle provisioner (a chroot over SSH) and
// of the qemu builder (a real guest with systemd as PID 1) install this
// shell script in its place. It fakes just enough of `k3s server`,
// `k3s kubectl get nodes` and `k3s ctr images ls` for the install and
// verify paths; nothing here runs Kubernetes, and no test may say so.
package k3sstandin

import (
	"strings"
)

// Version is the k3s release the stand-in claims to be and the mirror serves.
const Version = "v1.31.4+k3s1"

// AirgapName is the air-gap image archive the mirror serves beside k3s.
const AirgapName = "k3s-airgap-images-amd64.tar.zst"

// Airgap is a STAND-IN for k3s-airgap-images-amd64.tar.zst: bytes that are
// only checksummed and copied, never imported.
var Airgap = []byte("k3s-airgap-images stand-in: checksummed and copied, never imported\n")

// Guest paths the stand-in uses.
const (
	// StartedPath is written by `k3s server` (every start): the time, PID
	// 1's program and whether systemd gave it a notify socket.
	StartedPath = "/var/lib/rancher/k3s/standin-started"
	// ImagesListPath, written by a test, holds what `k3s ctr images ls`
	// prints once the server started (the stand-in imports nothing).
	ImagesListPath = "/etc/k3s-standin-images"
)

// Script returns the stand-in k3s: a shell script. Started as `k3s server`
// it writes files where real k3s keeps its cluster identity, and one at
// each of identityFiles (see IdentityFiles), so tests can prove `verify`
// removes them all. Under systemd (NOTIFY_SOCKET set, as for k3s's
// Type=notify unit) it reports ready with systemd-notify, as real k3s does
// through sd_notify; `kubectl get nodes` then shows a Ready node and
// `ctr images ls` prints ImagesListPath. A real k3s would import the
// bundled archives itself and report a real node.
func Script(identityFiles []string) string {
	return `#!/bin/sh
# k3s-standin: test STAND-IN for k3s (internal/testkit/k3sstandin), not k3s.
case "$1" in
--version) echo "k3s version ` + Version + ` (k3s-standin)" ;;
server)
	mkdir -p /var/lib/rancher/k3s/server/tls /var/lib/rancher/k3s/server/db /etc/rancher/node /var/lib/rancher/k3s/agent/etc /etc/rancher/k3s
	echo standin-ca-key > /var/lib/rancher/k3s/server/tls/server-ca.key
	echo K10standin::server:token > /var/lib/rancher/k3s/server/token
	echo standin-node-password > /etc/rancher/node/password
	echo standin-cert > /var/lib/rancher/k3s/agent/client-kubelet.crt
	echo standin-key > /var/lib/rancher/k3s/agent/client-kubelet.key
	echo standin-kubeconfig > /etc/rancher/k3s/k3s.yaml
	for p in ` + strings.Join(identityFiles, " ") + `; do
		[ -e "$p" ] || { mkdir -p "$(dirname "$p")" && echo standin-identity > "$p"; }
	done
	{ date; echo "pid1=$(basename "$(readlink /proc/1/exe 2>/dev/null)")"; echo "notify_socket=${NOTIFY_SOCKET:+yes}"; } > ` + StartedPath + `
	# Type=notify: systemd counts the unit started only after READY=1 from
	# the main process; --pid=$$ sends it as this shell (the main PID), which
	# then becomes the sleep below by exec.
	if [ -n "${NOTIFY_SOCKET:-}" ]; then
		systemd-notify --ready --pid=$$ || { echo "k3s-standin: systemd-notify --ready failed" >&2; exit 1; }
		echo "k3s-standin: reported ready to systemd"
	fi
	exec sleep 600 ;;
kubectl)
	[ -e ` + StartedPath + ` ] && echo "standin Ready control-plane 1m ` + Version + `" ;;
ctr)
	[ -e ` + StartedPath + ` ] && cat ` + ImagesListPath + ` 2>/dev/null ;;
esac
exit 0
`
}

// IdentityFiles are the guest paths the stand-in's server writes as its
// identity, given the provisioner's identity paths (k3sbundle.IdentityPaths,
// passed in because that package's own tests use this one): each path
// itself, or a file inside it for a folder that keeps an entry, plus the
// agent certificate and key.
func IdentityFiles[P any](paths []P, split func(P) (path string, keepsEntry bool)) []string {
	out := []string{"/var/lib/rancher/k3s/agent/client-kubelet.crt", "/var/lib/rancher/k3s/agent/client-kubelet.key"}
	for _, p := range paths {
		if path, keeps := split(p); keeps {
			out = append(out, path+"/standin-state")
		} else {
			out = append(out, path)
		}
	}
	return out
}
