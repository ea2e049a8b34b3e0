# Read by HashiCorp's Packer integration registry, with README.md beside it
# and components/<type>/<slug>/README.md (rendered by `make generate` from
# docs/). Every page under docs/ needs a component block here and the other
# way round; internal/testkit/releasetest checks both.
integration {
  name        = "vSphere OVA"
  description = "Build, provision and pack VMware appliances as OVA files without ovftool."
  identifier  = "packer/ovakit/vsphere-ova"
  flags       = []
  docs {
    process_docs    = true
    readme_location = "./README.md"
    external_url    = "https://github.com/ovakit/packer-plugin-vsphere-ova"
  }
  component {
    type = "builder"
    name = "vSphere OVA"
    slug = "vsphere-ova"
  }
  component {
    type = "builder"
    name = "vSphere OVA on QEMU"
    slug = "qemu"
  }
  component {
    type = "provisioner"
    name = "k3s bundle"
    slug = "k3s-bundle"
  }
  component {
    type = "post-processor"
    name = "vSphere OVA"
    slug = "vsphere-ova"
  }
  component {
    type = "post-processor"
    name = "vSphere OVA Content Library"
    slug = "library"
  }
}
