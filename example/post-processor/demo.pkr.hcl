# Packs an existing vSphere-style export (<vm_name>.ovf, <vm_name>.mf,
# <vm_name>-disk-N.vmdk) into an OVA without vCenter: the null builder does
# nothing, artifice hands the export's files to the vsphere-ova
# post-processor. `make demo` runs it on a sample export made by
# internal/fixture/cmd/mkexport; the end-to-end test runs this same file.
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.1.0"
      source  = "github.com/ovakit/vsphere-ova"
    }
  }
}

variable "export_dir" {
  type        = string
  description = "Folder holding the export, as vsphere-clone's export {} writes it."
}

variable "vm_name" {
  type        = string
  default     = "demo-vm"
  description = "Base name of the export's files."
}

variable "output" {
  type        = string
  default     = ""
  description = "Where to write the OVA; empty means <export_dir>/<vm_name>.ova."
}

source "null" "export" {
  communicator = "none"
}

build {
  sources = ["source.null.export"]

  post-processors {
    post-processor "artifice" {
      # Every file of the export; vsphere-ova packs what the .ovf references
      # and lists what it leaves out.
      files = formatlist("%s/%s", var.export_dir, sort(fileset(var.export_dir, "${var.vm_name}*")))
    }
    post-processor "vsphere-ova" {
      output             = var.output
      manifest_algorithm = "sha256"
      checksum_algorithm = "sha256"
      # artifice's Destroy() deletes the files it lists: keep the export.
      keep_input_artifact = true
    }
  }
}
