package vsphereova

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// cleanupTimeout bounds API calls made while cleaning up, which must not use
// the (possibly cancelled) build context.
const cleanupTimeout = 2 * time.Minute

// ---- open source ----

type stepOpenSource struct{ config *Config }

func (s *stepOpenSource) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Opening source %s ...", s.config.SourcePath))
	src, err := openSource(ctx, s.config, func(name string, size int64, r io.ReadCloser) io.ReadCloser {
		return ui.TrackProgress(name, 0, size, r)
	})
	if err != nil {
		return halt(state, err)
	}
	state.Put("source", src)
	return multistep.ActionContinue
}

func (s *stepOpenSource) Cleanup(state multistep.StateBag) {
	if src, ok := state.GetOk("source"); ok {
		if err := src.(*source).Close(); err != nil {
			log.Printf("closing source: %v", err)
		}
	}
}

// ---- connect ----

type stepConnect struct{ config *Config }

func (s *stepConnect) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	c, err := connect(ctx, s.config)
	if err != nil {
		return halt(state, err)
	}
	state.Put("client", c)
	kind := "standalone ESXi host"
	if c.IsVC() {
		kind = "vCenter Server"
	}
	ui.Say(fmt.Sprintf("Connected to %s %s", kind, c.URL().Host))
	return multistep.ActionContinue
}

func (s *stepConnect) Cleanup(state multistep.StateBag) {
	c, ok := state.GetOk("client")
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := session.NewManager(c.(*vim25.Client)).Logout(ctx); err != nil {
		log.Printf("vSphere logout: %v", err)
	}
}

func connect(ctx context.Context, cfg *Config) (*vim25.Client, error) {
	u, err := serverURL(cfg.VCenterServer)
	if err != nil {
		return nil, fmt.Errorf("vcenter_server %q: %w", cfg.VCenterServer, err)
	}
	sc := soap.NewClient(u, cfg.InsecureConnection)
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w (for a self-signed certificate set insecure_connection = true)", u.Host, err)
	}
	if err := session.NewManager(c).Login(ctx, url.UserPassword(cfg.Username, cfg.Password)); err != nil {
		return nil, fmt.Errorf("logging in to %s as %q: %w", u.Host, cfg.Username, err)
	}
	return c, nil
}

// ---- import ----

type placement struct {
	Datacenter *object.Datacenter
	Pool       *object.ResourcePool
	Host       *object.HostSystem // nil: let vSphere choose
	Folder     *object.Folder
	Datastore  *object.Datastore
	Networks   []types.OvfNetworkMapping
}

func names[T any](list []T, name func(T) string) string {
	var out []string
	for _, v := range list {
		out = append(out, name(v))
	}
	sort.Strings(out)
	if len(out) == 0 {
		return "(none)"
	}
	return strings.Join(out, ", ")
}

func invPath(o interface{ InventoryPath() string }) string { return o.InventoryPath() }

// resolvePlacement finds every inventory object before anything is created.
// Errors name what was not found and list what exists.
func resolvePlacement(ctx context.Context, c *vim25.Client, cfg *Config, env *govmomiovf.Envelope) (*placement, error) {
	f := find.NewFinder(c, false)
	p := &placement{}
	var err error
	dcs, _ := f.DatacenterList(ctx, "*")
	if cfg.Datacenter != "" {
		p.Datacenter, err = f.Datacenter(ctx, cfg.Datacenter)
		if err != nil {
			return nil, fmt.Errorf("datacenter %q not found; datacenters: %s", cfg.Datacenter, names(dcs, func(d *object.Datacenter) string { return d.Name() }))
		}
	} else {
		p.Datacenter, err = f.DefaultDatacenter(ctx)
		if err != nil {
			return nil, fmt.Errorf("set datacenter: the inventory has several (or no) datacenters: %s", names(dcs, func(d *object.Datacenter) string { return d.Name() }))
		}
	}
	f.SetDatacenter(p.Datacenter)
	isVC := c.IsVC()

	var cluster *object.ClusterComputeResource
	if cfg.Cluster != "" {
		if !isVC {
			return nil, fmt.Errorf("cluster %q: a standalone ESXi host has no clusters; remove cluster", cfg.Cluster)
		}
		cluster, err = f.ClusterComputeResource(ctx, cfg.Cluster)
		if err != nil {
			list, _ := f.ClusterComputeResourceList(ctx, "*")
			return nil, fmt.Errorf("cluster %q not found in datacenter %s; clusters: %s", cfg.Cluster, p.Datacenter.Name(), names(list, func(o *object.ClusterComputeResource) string { return o.Name() }))
		}
	}
	if cfg.Host != "" {
		hp := cfg.Host
		if cluster != nil && !strings.Contains(hp, "/") {
			hp = cluster.InventoryPath + "/" + hp
		}
		p.Host, err = f.HostSystem(ctx, hp)
		if err != nil {
			list, _ := f.HostSystemList(ctx, "*")
			return nil, fmt.Errorf("host %q not found; hosts: %s", cfg.Host, names(list, func(o *object.HostSystem) string { return o.Name() }))
		}
	}

	switch {
	case cfg.ResourcePool != "":
		candidates := []string{cfg.ResourcePool}
		if cluster != nil {
			candidates = append(candidates, cluster.InventoryPath+"/Resources/"+cfg.ResourcePool)
		} else if p.Host != nil {
			candidates = append(candidates, parentPath(p.Host.InventoryPath)+"/Resources/"+cfg.ResourcePool)
		}
		for _, cand := range candidates {
			if p.Pool, err = f.ResourcePool(ctx, cand); err == nil {
				break
			}
		}
		if p.Pool == nil {
			list, _ := f.ResourcePoolList(ctx, "*")
			return nil, fmt.Errorf("resource_pool %q not found; resource pools: %s", cfg.ResourcePool, names(list, func(o *object.ResourcePool) string { return o.InventoryPath }))
		}
	case cluster != nil:
		p.Pool, err = cluster.ResourcePool(ctx)
	case p.Host != nil:
		p.Pool, err = p.Host.ResourcePool(ctx)
	default:
		p.Pool, err = f.DefaultResourcePool(ctx)
		if err != nil {
			cl, _ := f.ClusterComputeResourceList(ctx, "*")
			hl, _ := f.HostSystemList(ctx, "*")
			return nil, fmt.Errorf("set cluster, host or resource_pool: datacenter %s has several places to put the VM; clusters: %s; hosts: %s",
				p.Datacenter.Name(), names(cl, func(o *object.ClusterComputeResource) string { return o.Name() }), names(hl, func(o *object.HostSystem) string { return o.Name() }))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("finding the resource pool: %w", err)
	}

	dsList, _ := f.DatastoreList(ctx, "*")
	if cfg.Datastore != "" {
		p.Datastore, err = f.Datastore(ctx, cfg.Datastore)
		if err != nil {
			return nil, fmt.Errorf("datastore %q not found in datacenter %s; datastores: %s", cfg.Datastore, p.Datacenter.Name(), names(dsList, func(o *object.Datastore) string { return o.Name() }))
		}
	} else {
		p.Datastore, err = f.DefaultDatastore(ctx)
		if err != nil {
			return nil, fmt.Errorf("set datastore: there are several (or no) datastores: %s", names(dsList, func(o *object.Datastore) string { return o.Name() }))
		}
	}

	folders, err := p.Datacenter.Folders(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the datacenter's folders: %w", err)
	}
	p.Folder = folders.VmFolder
	if cfg.Folder != "" {
		if !isVC {
			return nil, fmt.Errorf("folder %q: a standalone ESXi host has no VM folders; remove folder", cfg.Folder)
		}
		p.Folder, err = f.Folder(ctx, cfg.Folder)
		if err != nil {
			p.Folder, err = f.Folder(ctx, folders.VmFolder.InventoryPath+"/"+strings.TrimPrefix(cfg.Folder, "/"))
		}
		if err != nil {
			list, _ := f.FolderList(ctx, folders.VmFolder.InventoryPath+"/*")
			return nil, fmt.Errorf("folder %q not found; folders under %s: %s", cfg.Folder, folders.VmFolder.InventoryPath, names(list, func(o *object.Folder) string { return o.Name() }))
		}
	}
	if !isVC {
		p.Host = nil // ESXi imports onto itself; ImportVApp rejects a host argument there
	}

	// Networks: a name the OVF does not declare or a network that does not
	// exist would otherwise surface mid-import (or be silently ignored).
	var ovfNets []string
	if env.Network != nil {
		for _, n := range env.Network.Networks {
			ovfNets = append(ovfNets, n.Name)
		}
	}
	for _, m := range cfg.NetworkMapping {
		if !contains(ovfNets, m.Name) {
			return nil, fmt.Errorf("network_mapping: the OVF declares no network %q; its networks: %s", m.Name, names(ovfNets, func(s string) string { return s }))
		}
		n, err := f.Network(ctx, m.Network)
		if err != nil {
			list, _ := f.NetworkList(ctx, "*")
			return nil, fmt.Errorf("network_mapping: network %q (for OVF network %q) not found in datacenter %s; networks: %s", m.Network, m.Name, p.Datacenter.Name(), names(list, func(o object.NetworkReference) string { return pathBase(o.GetInventoryPath()) }))
		}
		p.Networks = append(p.Networks, types.OvfNetworkMapping{Name: m.Name, Network: n.Reference()})
	}
	return p, nil
}

func parentPath(p string) string {
	if i := strings.LastIndex(p, "/"); i > 0 {
		return p[:i]
	}
	return p
}

func pathBase(p string) string { return p[strings.LastIndex(p, "/")+1:] }

type stepImport struct {
	config *Config
	vm     *object.VirtualMachine
}

func (s *stepImport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	c := state.Get("client").(*vim25.Client)
	src := state.Get("source").(*source)
	cfg := s.config

	p, err := resolvePlacement(ctx, c, cfg, src.Envelope)
	if err != nil {
		return halt(state, err)
	}

	var props []types.KeyValue
	for k, v := range cfg.Properties {
		props = append(props, types.KeyValue{Key: k, Value: v})
	}
	sort.Slice(props, func(i, j int) bool { return props[i].Key < props[j].Key })
	cisp := types.OvfCreateImportSpecParams{
		DiskProvisioning: cfg.DiskProvisioning,
		EntityName:       cfg.VMName,
		OvfManagerCommonParams: types.OvfManagerCommonParams{
			DeploymentOption: cfg.DeploymentOption,
			Locale:           "US",
		},
		PropertyMapping: props,
		NetworkMapping:  p.Networks,
	}
	spec, err := govmomiovf.NewManager(c).CreateImportSpec(ctx, string(src.Descriptor), p.Pool, p.Datastore, &cisp)
	if err != nil {
		return halt(state, fmt.Errorf("creating the import spec for %s: %w", src.OVFName, err))
	}
	if len(spec.Error) > 0 {
		var msgs []string
		for _, e := range spec.Error {
			msgs = append(msgs, faultMessage(e))
		}
		return halt(state, fmt.Errorf("vSphere rejected %s: %s", src.OVFName, strings.Join(msgs, "; ")))
	}
	for _, w := range spec.Warning {
		ui.Say("Warning: " + faultMessage(w))
	}

	ui.Say(fmt.Sprintf("Importing %s as VM %q into %s ...", src.OVFName, cfg.VMName, p.Datastore.Name()))
	lease, err := p.Pool.ImportVApp(ctx, spec.ImportSpec, p.Folder, p.Host)
	if err != nil {
		return halt(state, fmt.Errorf("starting the import: %w", err))
	}
	info, err := lease.Wait(ctx, spec.FileItem)
	if err != nil {
		abortLease(lease)
		return halt(state, fmt.Errorf("waiting for the import lease: %w", err))
	}
	// Remember the VM now, so Cleanup destroys it however the upload ends.
	s.vm = object.NewVirtualMachine(c, info.Entity)
	state.Put("vm", s.vm)

	updater := lease.StartUpdater(ctx, info)
	err = s.upload(ctx, ui, lease, info.Items, src)
	updater.Done()
	if err != nil {
		abortLease(lease)
		return halt(state, err)
	}
	if err := lease.Complete(ctx); err != nil {
		return halt(state, fmt.Errorf("completing the import: %w", err))
	}
	ui.Say("Import complete")
	return multistep.ActionContinue
}

func (s *stepImport) upload(ctx context.Context, ui packersdk.Ui, lease *nfc.Lease, items []nfc.FileItem, src *source) error {
	for _, item := range items {
		r, size, err := src.Open(item.Path)
		if err != nil {
			return fmt.Errorf("opening %s in the source: %w", item.Path, err)
		}
		ui.Say(fmt.Sprintf("Uploading %s (%d bytes) ...", item.Path, size))
		log.Printf("upload started: %s", item.Path)
		body := ui.TrackProgress(item.Path, 0, size, r)
		err = lease.Upload(ctx, item, body, soap.Upload{ContentLength: size})
		body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("uploading %s: %w", item.Path, ctx.Err())
			}
			return fmt.Errorf("uploading %s: %w", item.Path, err)
		}
	}
	return nil
}

func abortLease(lease interface {
	Abort(context.Context, *types.LocalizedMethodFault) error
}) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := lease.Abort(ctx, nil); err != nil {
		log.Printf("aborting the NFC lease: %v", err)
	}
}

func faultMessage(f types.LocalizedMethodFault) string {
	if f.LocalizedMessage != "" {
		return f.LocalizedMessage
	}
	if f.Fault != nil {
		return fmt.Sprintf("%T", f.Fault)
	}
	return "unknown fault"
}

func (s *stepImport) Cleanup(state multistep.StateBag) {
	if s.vm == nil {
		return
	}
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	if !cancelled && !halted && (s.config.KeepVM || s.config.ConvertToTemplate) {
		return
	}
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Destroying VM %q ...", s.config.VMName))
	if err := destroyVM(s.vm); err != nil {
		ui.Error(fmt.Sprintf("Destroying VM %q: %v; delete it by hand", s.config.VMName, err))
	}
}

func destroyVM(vm *object.VirtualMachine) error {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"runtime.powerState"}, &o); err != nil {
		if fault.Is(err, &types.ManagedObjectNotFound{}) {
			return nil // an aborted import lease already removed it
		}
		return err
	}
	if o.Runtime.PowerState == types.VirtualMachinePowerStatePoweredOn {
		if t, err := vm.PowerOff(ctx); err == nil {
			_ = t.Wait(ctx)
		}
	}
	t, err := vm.Destroy(ctx)
	if err != nil {
		return err
	}
	return t.Wait(ctx)
}

// ---- hardware ----

type stepHardware struct{ config *Config }

func (s *stepHardware) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*object.VirtualMachine)
	ui := state.Get("ui").(packersdk.Ui)
	cfg := s.config
	spec := types.VirtualMachineConfigSpec{
		NumCPUs:  cfg.CPUs,
		MemoryMB: cfg.RAM,
	}
	if cfg.CpuCores > 0 {
		spec.NumCoresPerSocket = &cfg.CpuCores
	}
	keys := make([]string, 0, len(cfg.ConfigParams))
	for k := range cfg.ConfigParams {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		spec.ExtraConfig = append(spec.ExtraConfig, &types.OptionValue{Key: k, Value: cfg.ConfigParams[k]})
	}
	if len(cfg.DiskSizes) > 0 {
		devices, err := vm.Device(ctx)
		if err != nil {
			return halt(state, fmt.Errorf("reading the VM's devices: %w", err))
		}
		disks := devices.SelectByType((*types.VirtualDisk)(nil))
		if len(cfg.DiskSizes) > len(disks) {
			return halt(state, fmt.Errorf("disk_sizes lists %d disks, but the imported VM has %d", len(cfg.DiskSizes), len(disks)))
		}
		for i, mib := range cfg.DiskSizes {
			if mib == 0 {
				continue
			}
			d := disks[i].(*types.VirtualDisk)
			want := mib * 1024 * 1024
			have := d.CapacityInBytes
			if have == 0 {
				have = d.CapacityInKB * 1024
			}
			if want < have {
				return halt(state, fmt.Errorf("disk %d: disk size %d MiB is smaller than the disk (%d MiB); disks can only grow", i, mib, have/(1024*1024)))
			}
			if want == have {
				continue
			}
			d.CapacityInBytes = want
			d.CapacityInKB = want / 1024
			spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{
				Operation: types.VirtualDeviceConfigSpecOperationEdit,
				Device:    d,
			})
		}
	}
	if spec.NumCPUs == 0 && spec.NumCoresPerSocket == nil && spec.MemoryMB == 0 && len(spec.ExtraConfig) == 0 && len(spec.DeviceChange) == 0 {
		return multistep.ActionContinue
	}
	ui.Say("Reconfiguring hardware ...")
	t, err := vm.Reconfigure(ctx, spec)
	if err == nil {
		err = t.Wait(ctx)
	}
	if err != nil {
		return halt(state, fmt.Errorf("reconfiguring the VM: %w", err))
	}
	return multistep.ActionContinue
}

func (s *stepHardware) Cleanup(multistep.StateBag) {}

// ---- power on ----

type stepPowerOn struct{}

func (s *stepPowerOn) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*object.VirtualMachine)
	state.Get("ui").(packersdk.Ui).Say("Powering on ...")
	t, err := vm.PowerOn(ctx)
	if err == nil {
		err = t.Wait(ctx)
	}
	if err != nil {
		return halt(state, fmt.Errorf("powering on the VM: %w", err))
	}
	return multistep.ActionContinue
}

func (s *stepPowerOn) Cleanup(multistep.StateBag) {}

// ---- wait for IP ----

type stepWaitIP struct{ config *Config }

// pollInterval is how often the guest's addresses are read.
var pollInterval = time.Second

func (s *stepWaitIP) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*object.VirtualMachine)
	ui := state.Get("ui").(packersdk.Ui)
	ui.Say(fmt.Sprintf("Waiting up to %s for an IP address from VMware Tools ...", s.config.WaitTimeout))
	ctx, cancel := context.WithTimeout(ctx, s.config.WaitTimeout)
	defer cancel()
	var last string
	var since time.Time
	for {
		ip, err := guestIP(ctx, vm, s.config.waitNet)
		if err != nil && ctx.Err() == nil {
			return halt(state, fmt.Errorf("reading the guest's IP addresses: %w", err))
		}
		if ip != "" && ip == last && time.Since(since) >= s.config.SettleTimeout {
			ui.Say("IP address: " + ip)
			state.Put("ip", ip)
			state.Put("generated_data", map[string]interface{}{"Host": ip, "vm_name": s.config.VMName})
			return multistep.ActionContinue
		}
		if ip != last {
			last, since = ip, time.Now()
		}
		select {
		case <-ctx.Done():
			if state.Get("ip") == nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return halt(state, fmt.Errorf("no IP address after ip_wait_timeout = %s (is VMware Tools running in the guest? does ip_wait_address match?)", s.config.WaitTimeout))
			}
			return halt(state, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

func (s *stepWaitIP) Cleanup(multistep.StateBag) {}

func guestIP(ctx context.Context, vm *object.VirtualMachine, filter *net.IPNet) (string, error) {
	var o mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"guest.ipAddress", "guest.net"}, &o); err != nil {
		return "", err
	}
	var all []string
	if o.Guest != nil {
		for _, n := range o.Guest.Net {
			all = append(all, n.IpAddress...)
		}
		if o.Guest.IpAddress != "" {
			all = append(all, o.Guest.IpAddress)
		}
	}
	return pickIP(all, filter), nil
}

// pickIP returns the first address inside filter, or without a filter the
// first IPv4 address, else the first other one. Link-local addresses are
// never picked: they are not reachable from the build host.
func pickIP(addrs []string, filter *net.IPNet) string {
	var other string
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil || ip.IsLinkLocalUnicast() {
			continue
		}
		if filter != nil {
			if filter.Contains(ip) {
				return a
			}
			continue
		}
		if ip.To4() != nil {
			return a
		}
		if other == "" {
			other = a
		}
	}
	return other
}

// ---- shutdown ----

type stepShutdown struct{ config *Config }

func (s *stepShutdown) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*object.VirtualMachine)
	ui := state.Get("ui").(packersdk.Ui)
	cfg := s.config
	switch {
	case cfg.DisableShutdown:
		ui.Say("Waiting for the guest to power itself off ...")
	case cfg.Command != "" && cfg.Comm.Type != "none":
		comm, ok := state.Get("communicator").(packersdk.Communicator)
		if !ok {
			return halt(state, errors.New("shutdown_command needs a communicator"))
		}
		ui.Say("Running shutdown_command ...")
		// The command usually kills the connection, so its exit status is not
		// awaited; the power state is what counts.
		if err := comm.Start(ctx, &packersdk.RemoteCmd{Command: cfg.Command}); err != nil {
			return halt(state, fmt.Errorf("running shutdown_command: %w", err))
		}
	default:
		ui.Say("Shutting down the guest through VMware Tools ...")
		if err := vm.ShutdownGuest(ctx); err != nil {
			return halt(state, fmt.Errorf("guest shutdown through VMware Tools: %w (set shutdown_command instead if the guest has no Tools)", err))
		}
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := vm.WaitForPowerState(wctx, types.VirtualMachinePowerStatePoweredOff); err != nil {
		if ctx.Err() != nil {
			return halt(state, ctx.Err())
		}
		return halt(state, fmt.Errorf("the VM did not power off within shutdown_timeout = %s", cfg.Timeout))
	}
	ui.Say("VM is powered off")
	return multistep.ActionContinue
}

func (s *stepShutdown) Cleanup(multistep.StateBag) {}

// ---- template ----

type stepTemplate struct{}

func (s *stepTemplate) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	vm := state.Get("vm").(*object.VirtualMachine)
	state.Get("ui").(packersdk.Ui).Say("Converting the VM to a template ...")
	if err := vm.MarkAsTemplate(ctx); err != nil {
		return halt(state, fmt.Errorf("converting to a template: %w", err))
	}
	return multistep.ActionContinue
}

func (s *stepTemplate) Cleanup(multistep.StateBag) {}
