package vsphere

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25/soap"
)

// LibraryOptions say where an OVF template is published in a Content
// Library (the library post-processor's options; the errors name them).
type LibraryOptions struct {
	Library     string // library name or ID
	Item        string // item name
	Description string
	// CreateLibrary makes a local library on Datastore when none has the name.
	CreateLibrary bool
	Datastore     string
	// Replace updates an existing item's content as a new version; without
	// it an existing item is an error.
	Replace bool
}

// LibraryFile is one file of the OVF package, uploaded from Open. Algorithm
// and Digest (from the package's manifest) are given to vCenter, which
// refuses a file whose content does not match; empty when unknown.
type LibraryFile struct {
	Name              string
	Size              int64
	Algorithm, Digest string
	Open              func() (io.ReadCloser, error)
}

// Published is the library item a publication wrote. Version is the item's
// content version, which vCenter raises with each publication.
type Published struct {
	LibraryID, LibraryName string
	ItemID, Version        string
	Created                bool // the item is new (not a new version of an existing one)
}

// Library publishes OVF templates through the vAPI (REST) endpoint of the
// vCenter c is connected to.
type Library struct {
	rc *rest.Client
	m  *library.Manager
	c  *Client
}

// NewLibrary logs in to c's vAPI endpoint with the same credentials; Close
// logs out.
func NewLibrary(ctx context.Context, c *Client, o ConnectOptions) (*Library, error) {
	if !c.IsVC() {
		return nil, errNoVAPI
	}
	rc := rest.NewClient(c)
	if err := rc.Login(ctx, url.UserPassword(o.Username, o.Password)); err != nil {
		return nil, fmt.Errorf("logging in to the vAPI endpoint of %s as %q: %w", c.URL().Host, o.Username, err)
	}
	return &Library{rc: rc, m: library.NewManager(rc), c: c}, nil
}

// Close logs out of the vAPI endpoint, on a fresh context.
func (l *Library) Close() error {
	ctx, cancel := CleanupContext()
	defer cancel()
	return l.rc.Logout(ctx)
}

// Publish uploads files as the OVF template item o names, in one update
// session: every file with its checksum, then the session completes and
// vCenter checks the package. On any error, or when ctx ends, the session is
// cancelled and an item this call created is removed: nothing half-published
// is left. track wraps each upload's reader (progress).
func (l *Library) Publish(ctx context.Context, o LibraryOptions, files []LibraryFile, track func(name string, size int64, rc io.ReadCloser) io.ReadCloser) (_ *Published, err error) {
	lib, err := l.findLibrary(ctx, o)
	if err != nil {
		return nil, err
	}
	pub := &Published{LibraryID: lib.ID, LibraryName: lib.Name}
	if pub.ItemID, pub.Created, err = l.item(ctx, lib, o); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && pub.Created {
			l.removeItem(pub.ItemID)
		}
	}()
	session, err := l.m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: pub.ItemID})
	if err != nil {
		return nil, fmt.Errorf("opening an update session on library item %q: %w", o.Item, err)
	}
	defer func() {
		if err != nil {
			l.cancelSession(session)
		}
	}()
	if !pub.Created {
		if err := l.dropStale(ctx, session, pub.ItemID, files); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		if err := l.upload(ctx, session, f, track); err != nil {
			return nil, err
		}
	}
	if err := l.m.CompleteLibraryItemUpdateSession(ctx, session); err != nil {
		return nil, fmt.Errorf("completing the update session of library item %q: %w", o.Item, err)
	}
	if err := l.m.WaitOnLibraryItemUpdateSession(ctx, session, time.Second, nil); err != nil {
		return nil, fmt.Errorf("vCenter did not accept the upload to library item %q: %w", o.Item, err)
	}
	item, err := l.m.GetLibraryItem(ctx, pub.ItemID)
	if err != nil {
		return nil, fmt.Errorf("reading library item %q back: %w", o.Item, err)
	}
	pub.Version = item.ContentVersion
	return pub, nil
}

// dropStale removes, in the update session, the item's files that the new
// package does not have (a disk the new version no longer has): the new
// version is the package, not the package plus leftovers. (govmomi's
// simulator does not implement the session's remove action, so only
// publications whose file names stay the same run there.)
func (l *Library) dropStale(ctx context.Context, session, itemID string, files []LibraryFile) error {
	old, err := l.m.ListLibraryItemFiles(ctx, itemID)
	if err != nil {
		return fmt.Errorf("listing the files of library item %s: %w", itemID, err)
	}
	keep := map[string]bool{}
	for _, f := range files {
		keep[f.Name] = true
	}
	for _, f := range old {
		if keep[f.Name] {
			continue
		}
		if err := l.m.RemoveLibraryItemUpdateSessionFile(ctx, session, f.Name); err != nil {
			return fmt.Errorf("removing %s, which the new version does not have, from library item %s: %w", f.Name, itemID, err)
		}
	}
	return nil
}

// findLibrary finds the library by ID or name, or creates it.
func (l *Library) findLibrary(ctx context.Context, o LibraryOptions) (*library.Library, error) {
	if lib, err := l.m.GetLibraryByID(ctx, o.Library); err == nil {
		return lib, nil
	}
	ids, err := l.m.FindLibrary(ctx, library.Find{Name: o.Library})
	if err != nil {
		return nil, fmt.Errorf("looking up library %q: %w", o.Library, err)
	}
	switch {
	case len(ids) == 1:
		return l.m.GetLibraryByID(ctx, ids[0])
	case len(ids) > 1:
		return nil, fmt.Errorf("library: %d libraries are named %q; give its ID instead (%s)", len(ids), o.Library, strings.Join(ids, ", "))
	case !o.CreateLibrary:
		return nil, fmt.Errorf("library %q not found; libraries: %s; set create_library = true with a datastore to make it", o.Library, l.libraryNames(ctx))
	case o.Datastore == "":
		return nil, fmt.Errorf("library %q not found and create_library needs datastore: the datastore that holds the new library", o.Library)
	}
	return l.createLibrary(ctx, o)
}

func (l *Library) createLibrary(ctx context.Context, o LibraryOptions) (*library.Library, error) {
	f := find.NewFinder(l.c)
	dc, err := f.DefaultDatacenter(ctx)
	if err == nil {
		f.SetDatacenter(dc)
	}
	ds, err := f.Datastore(ctx, o.Datastore)
	if err != nil {
		return nil, fmt.Errorf("create_library: datastore %q: %w", o.Datastore, err)
	}
	id, err := l.m.CreateLibrary(ctx, library.Library{
		Name:    o.Library,
		Type:    "LOCAL",
		Storage: []library.StorageBacking{{DatastoreID: ds.Reference().Value, Type: "DATASTORE"}},
	})
	if err != nil {
		return nil, fmt.Errorf("creating library %q on datastore %q: %w", o.Library, o.Datastore, err)
	}
	log.Printf("created content library %q (%s)", o.Library, id)
	return l.m.GetLibraryByID(ctx, id)
}

func (l *Library) libraryNames(ctx context.Context) string {
	libs, err := l.m.GetLibraries(ctx)
	if err != nil {
		return "(could not list them: " + err.Error() + ")"
	}
	var names []string
	for _, lib := range libs {
		names = append(names, lib.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// item returns the ID of the item o names in lib, creating it when missing.
func (l *Library) item(ctx context.Context, lib *library.Library, o LibraryOptions) (string, bool, error) {
	ids, err := l.m.FindLibraryItems(ctx, library.FindItem{LibraryID: lib.ID, Name: o.Item})
	if err != nil {
		return "", false, fmt.Errorf("looking up item %q in library %q: %w", o.Item, lib.Name, err)
	}
	if len(ids) > 0 {
		if !o.Replace {
			return "", false, fmt.Errorf("library %q already has an item %q and replace = false: remove it, choose another name, or set replace = true to publish a new version", lib.Name, o.Item)
		}
		return ids[0], false, nil
	}
	id, err := l.m.CreateLibraryItem(ctx, library.Item{Name: o.Item, Description: &o.Description, Type: library.ItemTypeOVF, LibraryID: lib.ID})
	if err != nil {
		return "", false, fmt.Errorf("creating item %q in library %q: %w", o.Item, lib.Name, err)
	}
	return id, true, nil
}

func (l *Library) upload(ctx context.Context, session string, f LibraryFile, track func(string, int64, io.ReadCloser) io.ReadCloser) error {
	spec := library.UpdateFile{Name: f.Name, SourceType: "PUSH", Size: f.Size}
	if f.Digest != "" {
		spec.Checksum = &library.Checksum{Algorithm: strings.ToUpper(f.Algorithm), Checksum: strings.ToLower(f.Digest)}
	}
	up, err := l.m.AddLibraryItemFile(ctx, session, spec)
	if err != nil {
		return fmt.Errorf("adding %s to the update session: %w", f.Name, err)
	}
	if up.UploadEndpoint == nil {
		return fmt.Errorf("vCenter gave no upload endpoint for %s", f.Name)
	}
	u, err := url.Parse(up.UploadEndpoint.URI)
	if err != nil {
		return fmt.Errorf("upload endpoint of %s: %w", f.Name, err)
	}
	rc, err := f.Open()
	if err != nil {
		return err
	}
	body := track(f.Name, f.Size, rc)
	defer body.Close()
	p := soap.DefaultUpload
	p.ContentLength = f.Size
	if err := l.rc.Upload(ctx, body, u, &p); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("uploading %s: %w", f.Name, err)
	}
	return nil
}

// cancelSession cancels an update session on a fresh context (the build's
// may be cancelled): vCenter drops what it received.
func (l *Library) cancelSession(id string) {
	ctx, cancel := CleanupContext()
	defer cancel()
	if err := l.m.CancelLibraryItemUpdateSession(ctx, id); err != nil {
		log.Printf("cancelling library update session %s: %v", id, err)
	}
}

// removeItem deletes an item this publication created and could not fill.
func (l *Library) removeItem(id string) {
	ctx, cancel := CleanupContext()
	defer cancel()
	if err := l.m.DeleteLibraryItem(ctx, &library.Item{ID: id}); err != nil {
		log.Printf("removing the new, empty library item %s: %v", id, err)
	}
}

// errNoVAPI is NewLibrary's error for an ESXi host: Content Libraries are a
// vCenter feature.
var errNoVAPI = errors.New("content libraries need vCenter Server; vcenter_server is a standalone ESXi host")
