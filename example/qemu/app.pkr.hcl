# Builds FROM an OVA without vSphere: boots source_path under QEMU with the
# hardware its OVF describes (2 vCPUs and 1.5 GiB here, and a bigger first
# disk), runs a shell provisioner over SSH, shuts the guest down, exports it
# as a vSphere export looks and packs it into a new OVA with the vsphere-ova
# post-processor. The builder's end-to-end test
# (builder/vsphereovaqemu/e2e_test.go) runs the same steps against the test
# appliance of internal/testkit/bootimage:
#
#   packer build -var source_path=base.ova -var ssh_username=ovakit \
#     -var ssh_private_key_file=id_ed25519 -var output_directory=out .
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.2.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

variable "source_path" {
  type        = string
  description = "The OVA to build from (local .ova/.ovf or an http(s) URL of an .ova)."
}

variable "ssh_username" {
  type = string
}

variable "ssh_private_key_file" {
  type = string
}

variable "output_directory" {
  type        = string
  description = "Where the export (.ovf, .mf, disks) and the packed .ova are written."
}

source "vsphere-ova-qemu" "app" {
  source_path = var.source_path
  vm_name     = "qemu-appliance"

  CPUs      = 2
  RAM       = 1536
  disk_size = 4096

  ssh_username         = var.ssh_username
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "20m" # TCG (no KVM) boots take minutes on a busy host
  shutdown_command     = "sudo systemctl poweroff"

  export {
    output_directory = var.output_directory
    force            = true
  }
}

build {
  sources = ["source.vsphere-ova-qemu.app"]

  provisioner "shell" {
    inline = ["echo built-by-packer | sudo tee /etc/ovakit-build"]
  }

  post-processor "vsphere-ova" {}
}
