# Re-targets an existing OVA (this plugin's, ovftool's, or one another tool
# wrote) without vCenter: artifice hands the OVA to the vsphere-ova
# post-processor, which reads it in place (no extracted copy), checks every
# member against the OVA's manifest and writes one OVA per import target,
# here with two deploy-time sizes for vCenter's deploy wizard. The end-to-end
# test runs this same file.
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
  description = "The OVA to re-target."
}

variable "output_dir" {
  type        = string
  description = "Folder for the new OVAs: <output_dir>/<target>.ova."
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
    post-processor "vsphere-ova" {
      output = "${var.output_dir}/{{.Target}}.ova"
      target = ["vsphere", "workstation", "virtualbox"]
      product {
        name    = "Demo Appliance"
        vendor  = "ovakit"
        version = "1.1"
      }
      # vCenter's deploy wizard offers both sizes; Workstation and
      # VirtualBox get the default's.
      deployment_option {
        id          = "small"
        label       = "Small (2 vCPU, 2 GB)"
        description = "For a lab"
        CPUs        = 2
        RAM         = 2048
        default     = true
      }
      deployment_option {
        id    = "large"
        label = "Large (4 vCPU, 8 GB)"
        CPUs  = 4
        RAM   = 8192
      }
      # artifice's Destroy() deletes the files it lists: keep the input OVA.
      keep_input_artifact = true
    }
  }
}
