// Command imagebundle benchmarks ociarchive.Write against `skopeo copy`, the
// tool users reach for today, on the same images in the same run: it starts
// a real docker-registry on 127.0.0.1, pushes generated images (random
// content, a stand-in for real images we cannot download here) that share a
// base layer, then times
//   - ours:   one ociarchive.Write of all images to one .tar.zst;
//   - skopeo: one `skopeo copy docker://... oci-archive:...` per image, as
//     users script it (each archive holds its own copy of the shared layer).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/ovakit/packer-plugin-vsphere-ova/internal/testkit/registrytest"
	"github.com/ovakit/packer-plugin-vsphere-ova/ociarchive"
)

func main() {
	total := flag.Int64("mib", 300, "approximate MiB of distinct layer data across all images")
	images := flag.Int("images", 3, "number of images (all share one base layer)")
	runs := flag.Int("runs", 1, "timed runs of each side (the best is reported)")
	flag.Parse()
	if err := run(*total<<20, *images, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "imagebundle:", err)
		os.Exit(1)
	}
}

// run is the whole benchmark, one step after another (registry, images,
// timed runs of each side, report); it is long because a benchmark reads
// best as a script.
func run(total int64, n, runs int) error {
	regBin, err := look("docker-registry")
	if err != nil {
		return err
	}
	skopeo, err := look("skopeo")
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "imagebundle-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	regDir := filepath.Join(work, "registry")
	if err := os.Mkdir(regDir, 0o700); err != nil {
		return err
	}
	reg, err := registrytest.Launch(regBin, regDir)
	if err != nil {
		return err
	}
	defer reg.Stop()

	// The base layer is a third of the data, the rest split across images.
	baseSize := total / 3
	ownSize := (total - baseSize) / int64(n)
	fmt.Printf("generating %d images: shared base layer %d MiB + own layer %d MiB each (%d MiB distinct)\n", n, baseSize>>20, ownSize>>20, (baseSize+int64(n)*ownSize)>>20)
	base, err := random.Layer(baseSize, types.DockerLayer)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var refs []string
	for i := 0; i < n; i++ {
		own, err := random.Layer(ownSize, types.DockerLayer)
		if err != nil {
			return err
		}
		img, err := image(base, own)
		if err != nil {
			return err
		}
		ref := reg.Ref(fmt.Sprintf("bench/app-%d:1.0", i))
		r, err := name.ParseReference(ref)
		if err != nil {
			return err
		}
		if err := remote.Write(r, img, reg.RemoteOptions(ctx)...); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
		refs = append(refs, ref)
	}

	var bestOurs, bestSkopeo time.Duration
	var oursSize, skopeoSize int64
	for run := 0; run < runs; run++ {
		out := filepath.Join(work, "bundle.tar.zst")
		start := time.Now()
		res, err := ociarchive.Write(ctx, out, ociarchive.Options{References: refs})
		if err != nil {
			return err
		}
		d := time.Since(start)
		if bestOurs == 0 || d < bestOurs {
			bestOurs = d
		}
		oursSize = res.Size
		os.Remove(out)

		skopeoSize = 0
		start = time.Now()
		for i, ref := range refs {
			dst := filepath.Join(work, fmt.Sprintf("skopeo-%d.tar", i))
			cmd := exec.Command(skopeo, "copy", "--quiet", "--src-tls-verify=false", "docker://"+ref, "oci-archive:"+dst)
			if o, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("skopeo copy %s: %v\n%s", ref, err, o)
			}
			if fi, err := os.Stat(dst); err == nil {
				skopeoSize += fi.Size()
			}
		}
		d = time.Since(start)
		if bestSkopeo == 0 || d < bestSkopeo {
			bestSkopeo = d
		}
		for i := range refs {
			os.Remove(filepath.Join(work, fmt.Sprintf("skopeo-%d.tar", i)))
		}
	}
	fmt.Printf("%-44s %10s %12s\n", "method", "seconds", "output MiB")
	fmt.Printf("%-44s %10.2f %12.1f\n", "ociarchive.Write (1 .tar.zst, shared once)", bestOurs.Seconds(), float64(oursSize)/(1<<20))
	fmt.Printf("%-44s %10.2f %12.1f\n", fmt.Sprintf("skopeo copy x%d (oci-archive each)", n), bestSkopeo.Seconds(), float64(skopeoSize)/(1<<20))
	fmt.Printf("ratio skopeo/ours time: %.2fx   size: %.2fx\n", bestSkopeo.Seconds()/bestOurs.Seconds(), float64(skopeoSize)/float64(oursSize))
	return nil
}

func image(layers ...v1.Layer) (v1.Image, error) {
	cf, err := empty.Image.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err := mutate.ConfigFile(empty.Image, cf)
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(img, layers...)
}

func look(prog string) (string, error) {
	if p, err := exec.LookPath(prog); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: install it (Debian package %q)", prog, map[string]string{"docker-registry": "docker-registry", "skopeo": "skopeo"}[prog])
}
