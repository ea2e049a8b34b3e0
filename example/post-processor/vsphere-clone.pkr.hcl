# Clone a template on vCenter, export it to a local folder, and turn the
# export into an OVA (with a SHA-256 manifest and a .sha256 checksum file)
# without VMware's ovftool.
#
#   packer init vsphere-clone.pkr.hcl
#   packer build -var-file=secrets.pkrvars.hcl vsphere-clone.pkr.hcl
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

source "vsphere-clone" "appliance" {
  vcenter_server      = var.vcenter_server
  username            = var.vcenter_username
  password            = var.vcenter_password
  insecure_connection = false
  datacenter          = "dc1"
  cluster             = "cluster1"
  datastore           = "datastore1"
  template            = "templates/debian-12"
  vm_name             = "appliance"
  communicator        = "ssh"
  ssh_username        = "packer"
  ssh_password        = var.ssh_password

  # Writes output-appliance/appliance.ovf, appliance.mf (SHA256) and
  # appliance-disk-0.vmdk (streamOptimized).
  export {
    output_directory = "output-appliance"
    force            = true
  }
}

build {
  sources = ["source.vsphere-clone.appliance"]

  post-processor "vsphere-ova" {
    output = "dist/{{.BuildName}}.ova" # dist/appliance.ova and dist/appliance.ova.sha256
    # Default true: the vsphere-clone artifact's Destroy() deletes the export
    # folder AND the VM on vCenter. Set false only if you want both gone.
    keep_input_artifact = true
  }
}
