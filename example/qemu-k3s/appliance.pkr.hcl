# An air-gapped single-node k3s appliance built with no vSphere and no
# network: boots a base OVA under QEMU (vsphere-ova-qemu), installs k3s from
# files already on the build host (k3s_binary, airgap_images) with the
# manifests beside this file, starts it once to verify, removes the identity
# that start created, exports it straight into one OVA (output_format =
# "ova": each disk byte written once) and re-targets that OVA, one per
# import target, with the product information.
# Each imported copy makes its own cluster CA, token and node password at
# first boot.
#
#   packer init example/qemu-k3s
#   packer build -var source_path=debian-12.ova \
#     -var ssh_private_key_file=~/.ssh/id_ed25519 \
#     -var k3s_binary=k3s -var airgap_images=k3s-airgap-images-amd64.tar.zst \
#     example/qemu-k3s
#
# Download k3s and k3s-airgap-images-amd64.tar.zst of one release (and its
# sha256sum-amd64.txt, for checksum_file) once, on a machine with internet.
# The hcp_packer_registry block records each build in HCP Packer when
# HCP_CLIENT_ID/HCP_CLIENT_SECRET are set; HCP_PACKER_REGISTRY=off builds
# without it. `make test` runs this file offline with a STAND-IN k3s binary
# (example/qemu_k3s_test.go).
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
  description = "Base OVA whose ssh_username logs in by key and uses sudo without a password (cloud-init images do)."
}

variable "ssh_username" {
  type    = string
  default = "debian"
}

variable "ssh_private_key_file" {
  type = string
}

variable "k3s_binary" {
  type        = string
  description = "The k3s binary of the release to install, downloaded beforehand."
}

variable "airgap_images" {
  type        = string
  description = "k3s-airgap-images-amd64.tar.zst of the same release."
}

variable "checksum_file" {
  type        = string
  default     = ""
  description = "The release's sha256sum-amd64.txt; when set, both files are verified against it."
}

variable "output_directory" {
  type    = string
  default = "output-k3s-appliance"
}

source "vsphere-ova-qemu" "k3s" {
  source_path = var.source_path
  vm_name     = "k3s-appliance"
  CPUs        = 2
  RAM         = 2048

  ssh_username         = var.ssh_username
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "20m" # TCG (no KVM) boots take minutes on a busy host
  shutdown_command     = "sudo systemctl poweroff"

  export {
    output_directory = var.output_directory
    output_format    = "ova" # <output_directory>/k3s-appliance.ova, no export folder
    force            = true
  }
}

build {
  sources = ["source.vsphere-ova-qemu.k3s"]

  hcp_packer_registry {
    bucket_name = "k3s-appliance"
    description = "Air-gapped single-node k3s appliance"
    bucket_labels = {
      "os" = "debian"
    }
    build_labels = {
      "k3s-binary" = basename(var.k3s_binary)
    }
  }

  provisioner "vsphere-ova-k3s-bundle" {
    k3s_binary    = var.k3s_binary
    airgap_images = var.airgap_images
    checksum_file = var.checksum_file
    manifests     = ["${path.root}/manifests"]

    # Start k3s once, wait for the node and the bundled images, stop it and
    # remove the identity the start created.
    verify         = true
    verify_timeout = "10m"

    # Shrink: stop k3s, truncate logs, empty /tmp, reset machine-id, fstrim.
    cleanup = true
  }

  # Reads the builder's OVA once: k3s-appliance-vsphere.ova,
  # k3s-appliance-workstation.ova and k3s-appliance-virtualbox.ova beside it.
  post-processor "vsphere-ova" {
    target = ["vsphere", "workstation", "virtualbox"]
    product {
      name    = "k3s appliance"
      vendor  = "ovakit"
      version = "1.0"
    }
  }
}
