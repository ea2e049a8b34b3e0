# Builds FROM an OVA: imports source_path into vCenter (or a standalone ESXi
# host), reconfigures and boots it, waits for an IP from VMware Tools, shuts it
# down, exports it, and packs the export into a new OVA with the vsphere-ova
# post-processor. `make demo` (example/demo-builder.sh) runs it against the
# simulator from internal/testkit/vcsim; the end-to-end test runs this same file.
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.2.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

variable "vcenter_server" {
  type        = string
  description = "vCenter or ESXi host, e.g. vc.example.com or 127.0.0.1:8989."
}

variable "username" {
  type = string
}

variable "password" {
  type      = string
  sensitive = true
}

variable "source_path" {
  type        = string
  description = "The OVA to build from (local .ova/.ovf or an http(s) URL of an .ova)."
}

variable "output_directory" {
  type        = string
  description = "Where the export (.ovf, .mf, disks) and the packed .ova are written."
}

variable "cluster" {
  type        = string
  default     = ""
  description = "Cluster to build in (vCenter with several clusters/hosts; the simulator's is DC0_C0). Empty for a standalone ESXi host."
}

variable "vm_name" {
  type    = string
  default = "demo-appliance"
}

source "vsphere-ova" "demo" {
  vcenter_server      = var.vcenter_server
  username            = var.username
  password            = var.password
  insecure_connection = true
  cluster             = var.cluster

  source_path = var.source_path
  vm_name     = var.vm_name

  # Different from the base OVA's 2 vCPUs (1 per socket) and 1024 MiB, so the
  # result shows the reconfiguration: 4 vCPUs in 2 sockets, 3 GiB.
  CPUs      = 4
  cpu_cores = 2
  RAM       = 3072
  configuration_parameters = {
    "guestinfo.demo" = "built-by-packer"
  }

  communicator      = "none"
  ip_wait_timeout   = "5m"
  ip_settle_timeout = "1s"
  shutdown_timeout  = "5m"

  export {
    name             = var.vm_name
    output_directory = var.output_directory
    force            = true
    manifest         = "sha256"
  }
}

build {
  sources = ["source.vsphere-ova.demo"]

  # No settings needed: the builder's artifact is the export folder.
  post-processor "vsphere-ova" {}
}
