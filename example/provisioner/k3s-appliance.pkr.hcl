# An air-gapped k3s appliance: builds FROM a base OVA on vCenter/ESXi with this
# plugin's builder, installs k3s with its air-gap images, extra images, a
# manifest and a chart (not started: each imported copy makes its own cluster
# identity at first boot), verifies it once, shrinks the disk, exports and packs
# the result as an OVA with the vsphere-ova post-processor.
#
#   packer init example/provisioner
#   packer build -var vcenter_server=vc.example.com -var username=... \
#     -var password=... -var source_path=debian-12.ova \
#     -var ssh_private_key_file=~/.ssh/id_ed25519 example/provisioner
#
# The base OVA must let `ssh_username` log in by key and use sudo without a
# password (cloud-init images do). With a release mirror inside the network,
# set release_url; with no network at all, set k3s_binary and airgap_images.
# The provisioner's end-to-end test runs the same provisioner block over SSH
# against a disposable Debian root (provisioner/k3sbundle/packer_test.go).
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.2.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

variable "vcenter_server" {
  type = string
}

variable "username" {
  type = string
}

variable "password" {
  type      = string
  sensitive = true
}

variable "cluster" {
  type    = string
  default = ""
}

variable "source_path" {
  type        = string
  description = "Base OVA (local path or http(s) URL) with SSH and sudo for ssh_username."
}

variable "ssh_username" {
  type    = string
  default = "debian"
}

variable "ssh_private_key_file" {
  type = string
}

variable "k3s_version" {
  type    = string
  default = "v1.31.4+k3s1"
}

variable "release_url" {
  type        = string
  default     = "https://github.com/k3s-io/k3s/releases/download"
  description = "k3s release assets, or an internal mirror with the same layout."
}

variable "registry_password" {
  type      = string
  default   = ""
  sensitive = true
}

source "vsphere-ova" "k3s" {
  vcenter_server      = var.vcenter_server
  username            = var.username
  password            = var.password
  insecure_connection = true
  cluster             = var.cluster

  source_path = var.source_path
  vm_name     = "k3s-appliance"
  CPUs        = 2
  RAM         = 4096

  communicator         = "ssh"
  ssh_username         = var.ssh_username
  ssh_private_key_file = var.ssh_private_key_file

  export {
    name             = "k3s-appliance"
    output_directory = "output-k3s-appliance"
    force            = true
    manifest         = "sha256"
  }
}

build {
  sources = ["source.vsphere-ova.k3s"]

  provisioner "vsphere-ova-k3s-bundle" {
    k3s_version = var.k3s_version
    release_url = var.release_url

    # Pulled on the build host for linux/amd64 and shipped as one zstd OCI
    # archive that k3s imports at every start.
    images      = ["docker.io/library/nginx:1.27"]
    images_file = "${path.root}/images.txt"

    manifests = ["${path.root}/manifests"]
    config    = "${path.root}/config.yaml"

    # Start k3s once, wait for the node and every image, then stop it and
    # remove the identity the start created.
    verify         = true
    verify_timeout = "10m"

    # Shrink: stop k3s, truncate logs, empty /tmp, reset machine-id, fstrim.
    cleanup = true
  }

  post-processor "vsphere-ova" {}
}
