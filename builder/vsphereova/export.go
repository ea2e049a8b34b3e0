package vsphereova

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/packer-plugin-sdk/multistep"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	"github.com/vmware/govmomi/nfc"
	"github.com/vmware/govmomi/object"
	govmomiovf "github.com/vmware/govmomi/ovf"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/ovf"
)

// stepExport downloads the powered-off VM through an ExportVm NFC lease and
// writes <name>.ovf (from the OVF manager), the disks and <name>.mf into
// output_directory. Every file goes to a temporary name in that folder and is
// renamed when complete; on failure or cancel all of them are removed.
type stepExport struct {
	config  *Config
	created []string // final paths written by this step
	madeDir bool
	success bool
}

func (s *stepExport) Run(ctx context.Context, state multistep.StateBag) multistep.StepAction {
	ui := state.Get("ui").(packersdk.Ui)
	vm := state.Get("vm").(*object.VirtualMachine)
	c := state.Get("client").(*vim25.Client)
	e := s.config.Export

	if _, err := os.Stat(e.OutputDir); os.IsNotExist(err) {
		s.madeDir = true
	}
	if err := os.MkdirAll(e.OutputDir, 0o755); err != nil {
		return halt(state, fmt.Errorf("creating export.output_directory: %w", err))
	}

	ui.Say(fmt.Sprintf("Exporting VM to %s ...", e.OutputDir))
	lease, err := vm.Export(ctx)
	if err != nil {
		return halt(state, fmt.Errorf("starting the export: %w", err))
	}
	info, err := lease.Wait(ctx, nil)
	if err != nil {
		abortLease(lease)
		return halt(state, fmt.Errorf("waiting for the export lease: %w", err))
	}
	updater := lease.StartUpdater(ctx, info)
	var files []types.OvfFile
	var mf strings.Builder
	err = func() error {
		for _, item := range info.Items {
			if skipExportItem(e, item.Path) {
				continue
			}
			if err := ovf.CheckHref(item.Path); err != nil {
				return fmt.Errorf("the server offered an unsafe file name: %w", err)
			}
			// vSphere's lease names disks "disk-N.vmdk"; prefix the export
			// name as vsphere-clone's export does (<name>-disk-N.vmdk).
			if !strings.HasPrefix(item.Path, e.Name+"-") {
				item.Path = e.Name + "-" + item.Path
			}
			digest, size, err := s.download(ctx, ui, c, item)
			if err != nil {
				return err
			}
			f := item.File()
			f.Size = size
			files = append(files, f)
			if digest != "" {
				fmt.Fprintf(&mf, "%s(%s)= %s\n", strings.ToUpper(e.Manifest), item.Path, digest)
			}
		}
		return nil
	}()
	updater.Done()
	if err != nil {
		abortLease(lease)
		return halt(state, err)
	}
	if err := lease.Complete(ctx); err != nil {
		return halt(state, fmt.Errorf("completing the export lease: %w", err))
	}

	desc, err := govmomiovf.NewManager(c).CreateDescriptor(ctx, vm, types.OvfCreateDescriptorParams{
		Name:              e.Name,
		OvfFiles:          files,
		ExportOption:      e.Options,
		IncludeImageFiles: types.NewBool(e.Images),
	})
	if err != nil {
		return halt(state, fmt.Errorf("creating the OVF descriptor: %w", err))
	}
	if len(desc.Error) > 0 {
		return halt(state, fmt.Errorf("creating the OVF descriptor: %s", faultMessage(desc.Error[0])))
	}
	ovfName := e.Name + ".ovf"
	digest, err := s.writeFile(ctx, ovfName, strings.NewReader(desc.OvfDescriptor))
	if err != nil {
		return halt(state, err)
	}
	if e.Manifest != "none" {
		// The descriptor line first, as ovftool writes it.
		content := fmt.Sprintf("%s(%s)= %s\n", strings.ToUpper(e.Manifest), ovfName, digest) + mf.String()
		if _, err := s.writeFile(ctx, e.Name+".mf", strings.NewReader(content)); err != nil {
			return halt(state, err)
		}
	}
	state.Put("export_files", append([]string(nil), s.created...))
	s.success = true
	ui.Say(fmt.Sprintf("Exported %d files to %s", len(s.created), e.OutputDir))
	return multistep.ActionContinue
}

// skipExportItem leaves out attached ISO/floppy images and the NVRAM file
// unless export.images / export.nvram ask for them.
func skipExportItem(e *ExportConfig, p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".iso", ".flp", ".img":
		return !e.Images
	case ".nvram":
		return !e.NVRAM
	}
	return false
}

func (s *stepExport) download(ctx context.Context, ui packersdk.Ui, c *vim25.Client, item nfc.FileItem) (string, int64, error) {
	r, size, err := c.Download(ctx, item.URL, &soap.Download{Method: "GET"})
	if err != nil {
		return "", 0, fmt.Errorf("downloading %s: %w", item.Path, err)
	}
	total := size
	if total <= 0 {
		total = item.Size
	}
	body := ui.TrackProgress(item.Path, 0, total, r)
	defer body.Close()
	digest, err := s.writeFile(ctx, item.Path, body)
	if err != nil {
		return "", 0, err
	}
	st, err := os.Stat(filepath.Join(s.config.Export.OutputDir, item.Path))
	if err != nil {
		return "", 0, err
	}
	return digest, st.Size(), nil
}

// writeFile writes name atomically into output_directory and returns the
// manifest digest of its content ("" when export.manifest = "none").
func (s *stepExport) writeFile(ctx context.Context, name string, r io.Reader) (string, error) {
	e := s.config.Export
	var h hash.Hash
	if e.Manifest != "none" {
		var err error
		if h, err = ovf.NewHash(e.Manifest); err != nil {
			return "", err
		}
	}
	tmp, err := os.CreateTemp(e.OutputDir, "."+name+".partial-*")
	if err != nil {
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	var w io.Writer = tmp
	if h != nil {
		w = io.MultiWriter(tmp, h)
	}
	_, err = io.Copy(w, &ctxReader{ctx: ctx, r: r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	final := filepath.Join(e.OutputDir, name)
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing %s: %w", final, err)
	}
	s.created = append(s.created, final)
	if h == nil {
		return "", nil
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (s *stepExport) Cleanup(state multistep.StateBag) {
	_, cancelled := state.GetOk(multistep.StateCancelled)
	_, halted := state.GetOk(multistep.StateHalted)
	if s.success && !cancelled && !halted {
		return
	}
	var errs []error
	for _, f := range s.created {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			errs = append(errs, err)
		}
	}
	s.created = nil
	if s.madeDir {
		_ = os.Remove(s.config.Export.OutputDir) // only if empty
	}
	if len(errs) > 0 {
		state.Get("ui").(packersdk.Ui).Error(fmt.Sprintf("removing partial export: %v", errors.Join(errs...)))
	}
}
