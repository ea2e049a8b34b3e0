# Publishes an OVA to a vSphere Content Library as an OVF template, with no
# ovftool: the null builder does nothing, artifice hands the OVA to the
# vsphere-ova-library post-processor, which streams its files straight out of
# the OVA into a library update session (each with its manifest digest, which
# vCenter checks). Publishing again makes a new version of the same item.
# In a real build the OVA comes from post-processor "vsphere-ova" in the same
# post-processors block. The end-to-end test runs this file against govmomi's
# vCenter simulator.
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.2.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

variable "ova" {
  type        = string
  description = "The OVA to publish."
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

variable "library" {
  type        = string
  default     = "appliances"
  description = "Content Library name or ID; made on var.datastore when missing."
}

variable "datastore" {
  type    = string
  default = "LocalDS_0"
}

source "null" "ova" {
  communicator = "none"
}

build {
  sources = ["source.null.ova"]

  post-processors {
    post-processor "artifice" {
      files = [var.ova]
    }
    post-processor "vsphere-ova-library" {
      vcenter_server      = var.vcenter_server
      username            = var.username
      password            = var.password
      insecure_connection = true
      library             = var.library
      create_library      = true
      datastore           = var.datastore
      description         = "Published by packer-plugin-vsphere-ova"
      # artifice's Destroy() deletes the files it lists: keep the OVA.
      keep_input_artifact = true
    }
  }
}
