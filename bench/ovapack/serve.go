package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"
)

// serve serves one file over HTTPS on 127.0.0.1 with the code the
// simulator's NFC download runs (Go's TLS, http.ServeContent), prints its URL
// and runs until SIGINT or SIGTERM. bench/export.sh fetches it with curl for
// the transfer floor: the same bytes over the same kind of server, with no
// Packer and no plugin.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	file := fs.String("file", "", "file to serve")
	fs.Parse(args)
	if *file == "" {
		return fmt.Errorf("serve: -file is required")
	}
	if _, err := os.Stat(*file); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(*file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.ServeContent(w, r, fi.Name(), fi.ModTime(), f)
	}))
	defer srv.Close()
	fmt.Println(srv.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	return nil
}

// fetch GETs url (self-signed, as serve's) into io.Discard with Go's HTTP
// client, the TLS stack the plugin uses: the bare transfer, nothing written,
// nothing hashed.
func fetch(args []string) error {
	fs := flag.NewFlagSet("fetch", flag.ExitOnError)
	u := fs.String("url", "", "URL to fetch")
	fs.Parse(args)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // serve's test certificate
	res, err := c.Get(*u)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: %s", *u, res.Status)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return err
}
