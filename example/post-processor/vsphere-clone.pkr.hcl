# Clone a template on vCenter, export it to a local folder, and turn the
# export into an OVA (with a SHA-256 manifest and a .sha256 checksum file)
# without VMware's ovftool.
#
#   packer init vsphere-clone.pkr.hcl
#   packer build -var-file=secrets.pkrvars.hcl vsphere-clone.pkr.hcl
#
# `make test` builds this file with HashiCorp's vsphere plugin against
# govmomi's vCenter simulator (example/vsphere_clone_test.go), with
# communicator = "none" and the simulator's inventory names.
packer {
  required_plugins {
    vsphere = {
      version = ">= 1.4.0"
      source  = "github.com/hashicorp/vsphere"
    }
    vsphere-ova = {
      version = ">= 0.2.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

variable "vcenter_server" { type = string }
variable "vcenter_username" { type = string }
variable "vcenter_password" {
  type      = string
  sensitive = true
}
variable "ssh_password" {
  type      = string
  sensitive = true
}
variable "insecure_connection" {
  type    = bool
  default = false
}
variable "datacenter" {
  type    = string
  default = "dc1"
}
variable "cluster" {
  type    = string
  default = "cluster1"
}
variable "datastore" {
  type    = string
  default = "datastore1"
}
variable "template" {
  type    = string
  default = "templates/debian-12"
}
variable "communicator" {
  type    = string
  default = "ssh"
}
variable "output_directory" {
  type    = string
  default = "output-appliance"
}
variable "dist" {
  type    = string
  default = "dist"
}

source "vsphere-clone" "appliance" {
  vcenter_server      = var.vcenter_server
  username            = var.vcenter_username
  password            = var.vcenter_password
  insecure_connection = var.insecure_connection
  datacenter          = var.datacenter
  cluster             = var.cluster
  datastore           = var.datastore
  template            = var.template
  vm_name             = "appliance"
  communicator        = var.communicator
  ssh_username        = "packer"
  ssh_password        = var.ssh_password

  # Writes output-appliance/appliance.ovf, appliance.mf (SHA256) and
  # appliance-disk-0.vmdk (streamOptimized).
  export {
    output_directory = var.output_directory
    force            = true
  }
}

build {
  sources = ["source.vsphere-clone.appliance"]

  post-processor "vsphere-ova" {
    output = "${var.dist}/{{.BuildName}}.ova" # dist/appliance.ova and dist/appliance.ova.sha256
    # Default true: the vsphere-clone artifact's Destroy() deletes the export
    # folder AND the VM on vCenter. Set false only if you want both gone.
    keep_input_artifact = true
  }
}
