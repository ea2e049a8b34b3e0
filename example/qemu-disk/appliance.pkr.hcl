# An appliance built with Packer's qemu builder and shipped as an OVA for
# vSphere: the qemu builder installs Debian onto a qcow2 disk, and the
# vsphere-ova post-processor converts that disk to a streamOptimized VMDK
# (read natively: qemu-img is not needed) and writes the OVF from the vm
# block, then packs both with a manifest and a checksum file.
#
# Running it needs the qemu plugin (`packer init .`), QEMU, an installer ISO
# and a preseed file of your own in http/ (the boot command below is
# Debian's). This repository's tests cannot boot an installer, so they only
# run `packer validate` on it (example/qemu_disk_test.go): the whole file for
# syntax, and everything but the qemu source against the plugins' schemas.
packer {
  required_plugins {
    qemu = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/qemu"
    }
    vsphere-ova = {
      version = ">= 0.2.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

variable "iso_url" {
  type        = string
  default     = "https://cdimage.debian.org/debian-cd/current/amd64/iso-cd/debian-12.8.0-amd64-netinst.iso"
  description = "Debian installer ISO."
}

variable "iso_checksum" {
  type        = string
  default     = "file:https://cdimage.debian.org/debian-cd/current/amd64/iso-cd/SHA256SUMS"
  description = "Its checksum, or a checksum file that lists it."
}

variable "ssh_password" {
  type        = string
  sensitive   = true
  description = "Root password the preseed file sets, used by Packer to log in."
}

# The disk is installed for the VM it will become: UEFI firmware, and a SCSI
# disk (the installed initramfs then has the SCSI drivers; Debian's includes
# vmw_pvscsi for the PVSCSI controller the OVA declares).
source "qemu" "appliance" {
  iso_url           = var.iso_url
  iso_checksum      = var.iso_checksum
  vm_name           = "appliance"
  output_directory  = "output-appliance"
  format            = "qcow2"
  disk_size         = "20G"
  disk_interface    = "virtio-scsi"
  cpus              = 2
  memory            = 2048
  efi_boot          = true
  efi_firmware_code = "/usr/share/OVMF/OVMF_CODE_4M.fd"
  efi_firmware_vars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
  headless          = true
  http_directory    = "http"
  boot_wait         = "5s"
  boot_command = [
    "<wait>c<wait>",
    "linux /install.amd/vmlinuz auto=true priority=critical url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg --- quiet<enter>",
    "initrd /install.amd/initrd.gz<enter>",
    "boot<enter>",
  ]
  ssh_username     = "root"
  ssh_password     = var.ssh_password
  ssh_timeout      = "30m"
  shutdown_command = "systemctl poweroff"
}

build {
  sources = ["source.qemu.appliance"]

  # The qemu builder's artifact is output-appliance/appliance (qcow2) and
  # efivars.fd; the post-processor converts the disk in a temporary folder
  # beside the OVA, removed when it is done, and leaves efivars.fd out.
  post-processor "vsphere-ova" {
    output = "dist/{{.BuildName}}.ova"
    vm {
      name                 = "appliance"
      CPUs                 = 2
      RAM                  = 2048
      firmware             = "efi"
      guest_os_type        = "debian12_64Guest"
      disk_controller_type = ["pvscsi"]
      network_adapters {
        network      = "VM Network"
        network_card = "vmxnet3"
      }
    }
  }
}
