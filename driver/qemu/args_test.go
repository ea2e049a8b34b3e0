package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func diskFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "d,isk.qcow2") // a comma QEMU must see doubled
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustArgs(t *testing.T, c Config) string {
	t.Helper()
	c, err := c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	args, err := commandLine(&c, runtime{accel: "tcg", hostPort: 2222, workDir: t.TempDir(), serialLog: "/tmp/s.log", qmpChardev: "fd=3"})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(args, " ")
}

func TestCommandLineDevices(t *testing.T) {
	disk := diskFile(t)
	esc := strings.ReplaceAll(disk, ",", ",,")
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"pvscsi+vmxnet3", Config{Controllers: []Controller{{Type: "VirtualSCSI"}}, Disks: []Disk{{Path: disk}}, ForwardPort: 22},
			[]string{"-device pvscsi,id=ctl0", "file=" + esc + ",format=qcow2", "-device scsi-hd,bus=ctl0.0,scsi-id=0,drive=disk0,bootindex=1",
				"-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22 -device vmxnet3,netdev=net0", "-machine q35", "-accel tcg", "-nodefaults"}},
		{"ahci+e1000e", Config{Controllers: []Controller{{Type: "vmware.sata.ahci"}}, Disks: []Disk{{Path: disk, Unit: 2, Format: "raw"}}, NICs: []NIC{{Model: "E1000e", MAC: "00:50:56:01:02:03"}}},
			[]string{"-device ich9-ahci,id=ctl0", "format=raw", "-device ide-hd,bus=ctl0.2,drive=disk0,bootindex=1", "-device e1000e,netdev=net0,mac=00:50:56:01:02:03", "-netdev user,id=net0 "}},
		{"nvme two namespaces", Config{Controllers: []Controller{{Type: "nvme"}}, Disks: []Disk{{Path: disk}, {Path: disk, Unit: 1}}},
			[]string{"-device nvme,id=ctl0,serial=ovakit0", "-device nvme-ns,bus=ctl0,nsid=1,drive=disk0,bootindex=1", "-device nvme-ns,bus=ctl0,nsid=2,drive=disk1 "}},
		{"lsilogic sas", Config{Controllers: []Controller{{Type: "lsilogicsas"}}, Disks: []Disk{{Path: disk}}},
			[]string{"-device mptsas1068,id=ctl0", "scsi-hd,bus=ctl0.0,scsi-id=0"}},
		{"ide on pc with a cd", Config{MachineType: "pc", Controllers: []Controller{{Type: "PIIX4"}}, Disks: []Disk{{Path: disk}}, CDROMs: []string{"/x/seed.iso"}},
			[]string{"-machine pc", "ide-hd,bus=ide.0,unit=0,drive=disk0", "file=/x/seed.iso,format=raw,media=cdrom,readonly=on", "ide-cd,bus=ide.0,unit=1,drive=cd0"}},
		{"smp and memory", Config{CPUs: 4, CoresPerSocket: 2, MemoryMiB: 2048, Controllers: []Controller{{Type: "pvscsi"}}, Disks: []Disk{{Path: disk}}},
			[]string{"-m 2048", "-smp cpus=4,sockets=2,cores=2,threads=1"}},
		{"vnc", Config{VNCBindAddress: "127.0.0.1", Controllers: []Controller{{Type: "pvscsi"}}, Disks: []Disk{{Path: disk}}, ExtraArgs: []string{"-device", "virtio-rng-pci"}},
			[]string{"-vnc 127.0.0.1:0,to=200", "-display none", "-device virtio-rng-pci"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustArgs(t, tc.cfg)
			for _, w := range tc.want {
				if !strings.Contains(got+" ", w) {
					t.Errorf("command line lacks %q:\n%s", w, got)
				}
			}
		})
	}
}

func TestCommandLineEFI(t *testing.T) {
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "CODE.fd"), filepath.Join(dir, "VARS.fd")
	os.WriteFile(code, []byte("code"), 0o644)
	os.WriteFile(vars, []byte("pristine"), 0o644)
	c, err := Config{Firmware: "efi", SecureBoot: true, OVMFCode: code, OVMFVars: vars,
		Controllers: []Controller{{Type: "pvscsi"}}, Disks: []Disk{{Path: diskFile(t)}}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	args, err := commandLine(&c, runtime{accel: "tcg", workDir: work, serialLog: "s", qmpChardev: "fd=3"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	for _, w := range []string{"-machine q35,smm=on", "if=pflash,format=raw,unit=0,readonly=on,file=" + code,
		"if=pflash,format=raw,unit=1,file=" + filepath.Join(work, "efivars.fd"), "driver=cfi.pflash01,property=secure,value=on"} {
		if !strings.Contains(got, w) {
			t.Errorf("command line lacks %q:\n%s", w, got)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(work, "efivars.fd")); string(b) != "pristine" {
		t.Errorf("variables not copied into the work folder: %q", b)
	}
}

func TestConfigErrors(t *testing.T) {
	disk := diskFile(t)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no disk", Config{}, "no disks"},
		{"missing file", Config{Controllers: []Controller{{Type: "pvscsi"}}, Disks: []Disk{{Path: "/nonexistent.qcow2"}}}, "disks[0]: stat /nonexistent.qcow2"},
		{"bad controller", Config{Controllers: []Controller{{Type: "buslogic"}}, Disks: []Disk{{Path: disk}}}, `controllers[0]: unknown disk controller "buslogic"`},
		{"bad nic", Config{NICs: []NIC{{Model: "vlance"}}, Disks: []Disk{{Path: disk}}}, `nics[0]: unknown network adapter "vlance"`},
		{"bad mac", Config{NICs: []NIC{{Model: "vmxnet3", MAC: "00:50:56"}}, Disks: []Disk{{Path: disk}}}, `MAC "00:50:56"`},
		{"cores", Config{CPUs: 3, CoresPerSocket: 2, Disks: []Disk{{Path: disk}}}, "multiple of cores per socket"},
		{"secure boot bios", Config{SecureBoot: true, Disks: []Disk{{Path: disk}}}, `secure boot needs firmware "efi"`},
		{"firmware", Config{Firmware: "uefi", Disks: []Disk{{Path: disk}}}, `firmware "uefi"`},
		{"accel", Config{Accelerator: "hvf", Disks: []Disk{{Path: disk}}}, `accelerator "hvf"`},
		{"vnc", Config{VNCBindAddress: "localhost", Disks: []Disk{{Path: disk}}}, `VNC bind address "localhost"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestStorageErrors(t *testing.T) {
	disk := diskFile(t)
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"controller index", Config{Controllers: []Controller{{Type: "pvscsi"}}, Disks: []Disk{{Path: disk, Controller: 1}}}, "disks[0]: controller 1 does not exist"},
		{"unit range", Config{Controllers: []Controller{{Type: "sata"}}, Disks: []Disk{{Path: disk, Unit: 6}}}, "unit 6 out of range for a sata controller (0-5)"},
		{"unit taken", Config{Controllers: []Controller{{Type: "pvscsi"}}, Disks: []Disk{{Path: disk}, {Path: disk}}}, "disks[1]: controller 0 unit 0 is already taken"},
		{"ide on q35", Config{Controllers: []Controller{{Type: "ide"}}, Disks: []Disk{{Path: disk}}}, `needs machine_type "pc"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.cfg.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			_, err = storageArgs(&c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// withDefaults must not rewrite the caller's controllers (the builder keeps
// its config and may start twice).
func TestWithDefaultsKeepsCallerSlices(t *testing.T) {
	ctls := []Controller{{Type: "VirtualSCSI"}}
	if _, err := (Config{Controllers: ctls, Disks: []Disk{{Path: diskFile(t)}}}).withDefaults(); err != nil {
		t.Fatal(err)
	}
	if ctls[0].Type != "VirtualSCSI" {
		t.Fatalf("caller's controller rewritten to %q", ctls[0].Type)
	}
}

func TestFindOVMFMissing(t *testing.T) {
	old := ovmfDirs
	ovmfDirs = []string{t.TempDir()}
	defer func() { ovmfDirs = old }()
	_, _, err := findOVMF(&Config{Firmware: "efi", SecureBoot: true})
	for _, want := range []string{"install Debian's ovmf package", "efi_firmware_code and efi_firmware_vars"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

// Named OVMF files are used as named, wherever the installed OVMF is; a
// missing one, or only one of the two, is an error naming the options.
func TestFindOVMFNamed(t *testing.T) {
	old := ovmfDirs
	ovmfDirs = []string{t.TempDir()} // no installed OVMF
	defer func() { ovmfDirs = old }()
	dir := t.TempDir()
	code, vars := filepath.Join(dir, "my_CODE.fd"), filepath.Join(dir, "my_VARS.fd")
	os.WriteFile(code, []byte("c"), 0o644)
	os.WriteFile(vars, []byte("v"), 0o644)
	if gc, gv, err := findOVMF(&Config{Firmware: "efi", OVMFCode: code, OVMFVars: vars}); err != nil || gc != code || gv != vars {
		t.Errorf("named files: %q %q %v", gc, gv, err)
	}
	for _, c := range []Config{{OVMFCode: code}, {OVMFVars: vars}, {OVMFCode: code, OVMFVars: filepath.Join(dir, "gone.fd")}} {
		_, _, err := findOVMF(&c)
		if err == nil || !strings.Contains(err.Error(), "efi_firmware_code and efi_firmware_vars") {
			t.Errorf("%+v: error %v", c, err)
		}
	}
}

func TestFirmwareWarning(t *testing.T) {
	for _, tc := range []struct {
		fw, ctl string
		warn    bool
	}{{"efi", PVSCSI, true}, {"efi", LSILogicSAS, true}, {"efi", NVMe, false}, {"efi", SATA, false}, {"bios", PVSCSI, false}} {
		c := Config{Firmware: tc.fw, Controllers: []Controller{{Type: tc.ctl}}, Disks: []Disk{{}}}
		if got := firmwareWarning(&c); (got != "") != tc.warn {
			t.Errorf("%s on %s: warning %q", tc.fw, tc.ctl, got)
		}
	}
}
