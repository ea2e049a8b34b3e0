//go:build windows

package qemu

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// procAttr: Windows has no process groups to signal; guardProcess does the
// clean-up instead.
func procAttr() *syscall.SysProcAttr { return nil }

// killTree ends p (TerminateProcess). QEMU on Windows starts no helpers, and
// the job object of guardProcess takes anything else down with it.
func killTree(p *os.Process) error { return p.Kill() }

// guardProcess puts p in a job object that kills its processes when the
// job's last handle closes: at release, or when this plugin exits however it
// exits (what PDEATHSIG does on Linux).
func guardProcess(p *os.Process) (release func(), err error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("creating a job object for QEMU: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("setting kill-on-close on QEMU's job object: %w", err)
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(p.Pid))
	if err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("opening QEMU's process %d: %w", p.Pid, err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(job, h); err != nil {
		windows.CloseHandle(job)
		return nil, fmt.Errorf("adding QEMU's process %d to its job object: %w", p.Pid, err)
	}
	return func() { windows.CloseHandle(job) }, nil
}
