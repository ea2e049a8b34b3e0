package qemu

import (
	"fmt"
	"net"
	"strconv"
)

// runtime holds what Start decided for one launch: the accelerator, the
// host port, file locations.
type runtime struct {
	accel      string
	hostPort   int
	workDir    string
	serialLog  string
	qmpChardev string // where QMP is: "fd=3" or "host=127.0.0.1,port=N" (qmpEndpoint)
}

// commandLine builds QEMU's arguments (without the binary). -nodefaults:
// every device is chosen here, so none appears that vSphere would not give
// the guest (no default NIC, no floppy, no QEMU CD-ROM).
func commandLine(c *Config, rt runtime) ([]string, error) {
	machine := c.MachineType
	if c.SecureBoot {
		machine += ",smm=on"
	}
	args := []string{
		"-nodefaults", "-no-user-config",
		"-name", "ovakit",
		"-machine", machine,
		"-accel", rt.accel,
		"-m", strconv.Itoa(c.MemoryMiB),
		"-smp", fmt.Sprintf("cpus=%d,sockets=%d,cores=%d,threads=1", c.CPUs, c.CPUs/c.CoresPerSocket, c.CoresPerSocket),
		"-rtc", "base=utc",
		"-vga", "std",
		"-display", "none",
		"-chardev", "socket,id=qmp," + rt.qmpChardev,
		"-mon", "chardev=qmp,mode=control",
		"-chardev", "file,id=serial0,path=" + escapeOpt(rt.serialLog),
		"-serial", "chardev:serial0",
	}
	if cpu := cpuModel(c.CPUModel, rt.accel); cpu != "" {
		args = append(args, "-cpu", cpu)
	}
	fw, err := firmwareArgs(c, rt.workDir)
	if err != nil {
		return nil, err
	}
	args = append(args, fw...)
	storage, err := storageArgs(c)
	if err != nil {
		return nil, err
	}
	args = append(args, storage...)
	args = append(args, netArgs(c, rt.hostPort)...)
	if c.VNCBindAddress != "" {
		host := c.VNCBindAddress
		if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
			host = "[" + host + "]"
		}
		// Display 0 up to 0+200: QEMU takes the first free port from 5900
		// itself, so no other process can take it between pick and bind.
		args = append(args, "-vnc", host+":0,to=200")
	}
	return append(args, c.ExtraArgs...), nil
}

// cpuModel is the -cpu model: the user's, else the host's own CPU under a
// hardware accelerator, and under TCG "max" (every feature TCG emulates).
// QEMU's own default, qemu64, lacks SSE4.2, POPCNT and SSSE3, so guests
// built for x86-64-v2 (RHEL 9 and its rebuilds) stop in early boot. WHPX
// has no "host" model: QEMU's default there ("" adds no -cpu).
func cpuModel(model, accel string) string {
	if model != "" {
		return model
	}
	switch accel {
	case "kvm", "hvf":
		return "host"
	case "tcg":
		return "max"
	}
	return ""
}
