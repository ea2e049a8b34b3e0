package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// watch runs a command (a packer build) and reports what it cost:
//
//	wall=S cpu=S packer_cpu=S plugin_cpu=S plugin_rss_mib=M packer_faults=N plugin_faults=N plugin_rchar_mib=M plugin_read_mib=M exit=N
//
// cpu is user+system of the whole process tree (from wait4); packer_cpu and
// plugin_cpu split it by executable, and plugin_rss_mib is the largest peak
// resident set (VmHWM) of any plugin process, sampled from /proc every 20 ms
// for the command's descendants only (other builds on the machine are not
// counted). A process is sampled until it exits, so the last 20 ms of CPU
// may be missed; VmHWM is a high-water mark, so the peak is not.
// plugin_rchar_mib and plugin_read_mib sum /proc/<pid>/io over the plugin
// processes: rchar counts bytes returned by read(2) (page cache included),
// read_bytes those fetched from the block device (cold cache only), both as
// of the last sample.
func watch(args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	plugin := fs.String("plugin", "packer-plugin-", "executable name prefix of the plugin processes")
	logPath := fs.String("log", "", "file for the command's output (default: discard)")
	fs.Parse(args)
	if fs.NArg() == 0 {
		return fmt.Errorf("watch: no command")
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	if *logPath != "" {
		lf, err := os.Create(*logPath)
		if err != nil {
			return err
		}
		defer lf.Close()
		cmd.Stdout, cmd.Stderr = lf, lf
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	seen := map[int]*sample{}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var werr error
poll:
	for {
		select {
		case werr = <-done:
			break poll
		case <-tick.C:
			scan(cmd.Process.Pid, seen)
		}
	}
	wall := time.Since(start)
	var packerCPU, pluginCPU, rss, packerFlt, pluginFlt, rchar, readBytes float64
	for _, s := range seen {
		switch {
		case strings.HasPrefix(s.exe, *plugin):
			pluginCPU += s.cpu
			pluginFlt += s.minflt
			rss = max(rss, s.hwmKiB/1024)
			rchar += s.rchar / (1 << 20)
			readBytes += s.readBytes / (1 << 20)
		case s.exe == "packer":
			packerCPU += s.cpu
			packerFlt += s.minflt
		}
	}
	st := cmd.ProcessState
	code := st.ExitCode()
	fmt.Printf("wall=%.3f cpu=%.2f packer_cpu=%.2f plugin_cpu=%.2f plugin_rss_mib=%.1f packer_faults=%.0f plugin_faults=%.0f plugin_rchar_mib=%.1f plugin_read_mib=%.1f exit=%d\n",
		wall.Seconds(), (st.UserTime() + st.SystemTime()).Seconds(), packerCPU, pluginCPU, rss, packerFlt, pluginFlt, rchar, readBytes, code)
	if werr != nil && code < 0 {
		return werr
	}
	return nil
}

// sample is the last reading of one process.
type sample struct {
	exe       string
	cpu       float64 // user+system seconds
	minflt    float64 // minor page faults
	hwmKiB    float64
	rchar     float64 // bytes, from /proc/<pid>/io
	readBytes float64
}

// scan samples every descendant of root.
func scan(root int, seen map[int]*sample) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	parent := map[int]int{}
	stats := map[int][]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
		if len(f) < 13 {
			continue
		}
		parent[pid], _ = strconv.Atoi(f[1])
		stats[pid] = f
	}
	for pid, f := range stats {
		if !descends(pid, root, parent) {
			continue
		}
		// Read on every sample: a pid first seen between fork and exec
		// still shows its parent's executable.
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil {
			continue
		}
		s := seen[pid]
		if s == nil {
			s = &sample{}
			seen[pid] = s
		}
		s.exe = filepath.Base(exe)
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		s.cpu = (ut + st) / 100 // USER_HZ is 100 on Linux
		s.minflt, _ = strconv.ParseFloat(f[7], 64)
		if hwm := vmHWM(pid); hwm > 0 {
			s.hwmKiB = hwm
		}
		if rc, rb, ok := procIO(pid); ok {
			s.rchar, s.readBytes = rc, rb
		}
	}
}

func descends(pid, root int, parent map[int]int) bool {
	for i := 0; i < 64 && pid > 1; i++ {
		if pid == root {
			return true
		}
		pid = parent[pid]
	}
	return false
}

func vmHWM(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return n
		}
	}
	return 0
}

// procIO reads rchar and read_bytes of /proc/<pid>/io (readable for our own
// processes).
func procIO(pid int) (rchar, readBytes float64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch k {
		case "rchar":
			rchar, ok = n, true
		case "read_bytes":
			readBytes = n
		}
	}
	return rchar, readBytes, ok
}
