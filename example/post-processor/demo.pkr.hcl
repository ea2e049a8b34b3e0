# Packs an existing vSphere-style export (<vm_name>.ovf, <vm_name>.mf,
# <vm_name>-disk-N.vmdk) into one OVA per import target without vCenter: the
# null builder does nothing, artifice hands the export's files to the
# vsphere-ova post-processor, which reads the disks once and writes an OVA
# for vSphere, one for VMware Workstation and one for VirtualBox, each with
# the product information and a vApp property below. `make demo` runs it on a sample export made by
# internal/testkit/cmd/mkexport; the end-to-end test runs this same file.
packer {
  required_plugins {
    vsphere-ova = {
      version = ">= 0.2.0"
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
  description = "Where to write the first target's OVA; empty means <export_dir>/<vm_name>.ova. The other targets' OVAs get -<target> before .ova."
}

variable "targets" {
  type        = list(string)
  default     = ["vsphere", "workstation", "virtualbox"]
  description = "Import targets, one OVA each: vsphere, workstation, virtualbox, portable."
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
      target             = var.targets
      manifest_algorithm = "sha256"
      checksum_algorithm = "sha256"
      # Shown by the vSphere deploy wizard and VirtualBox's import dialog.
      product {
        name    = "Demo Appliance"
        vendor  = "ovakit"
        version = "1.0"
      }
      annotation = "Sample appliance packed by the vsphere-ova demo."
      # A value the deployer fills in; the guest reads it at first boot
      # (VMware Tools guestinfo or the OVF environment CD-ROM).
      property {
        key         = "hostname"
        type        = "string"
        value       = "demo"
        label       = "Host name"
        description = "The appliance's host name"
      }
      # artifice's Destroy() deletes the files it lists: keep the export.
      keep_input_artifact = true
    }
  }
}
