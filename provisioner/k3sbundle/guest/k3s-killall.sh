#!/bin/sh
# Installed by the vsphere-ova-k3s-bundle Packer provisioner: stops k3s and
# everything it started (a shorter form of k3s's k3s-killall.sh).
[ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"
for service in /etc/systemd/system/k3s*.service; do
	[ -s "$service" ] && systemctl stop "$(basename "$service")"
done
# Container shims and their children run k3s's bundled containerd tools.
for pid in $(ps -e -o pid= -o args= 2>/dev/null | awk '/\/var\/lib\/rancher\/k3s\/data\/[^ ]*\/bin\/containerd-shim/ { print $1 }'); do
	kill -9 "$pid" 2>/dev/null
done
do_unmount() {
	awk -v p="$1" '$2 ~ "^"p { print $2 }' /proc/self/mounts 2>/dev/null | sort -r | xargs -r -n 1 umount -l
}
do_unmount /run/k3s
do_unmount /var/lib/kubelet/pods
do_unmount /var/lib/kubelet/plugins
do_unmount /run/netns/cni-
ip netns show 2>/dev/null | grep cni- | xargs -r -n 1 ip netns delete
for link in cni0 flannel.1 flannel-v6.1 flannel-wg flannel-wg-v6; do ip link delete "$link" 2>/dev/null; done
rm -rf /var/lib/cni /run/flannel
exit 0
