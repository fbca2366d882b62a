// Package dbfixture writes small trivy vulnerability databases with
// trivy-db's own writer and publishes them the way Aqua publishes the real
// one: a single-layer OCI artifact with trivy-db's media types. Tests and the
// demo push the DB into the sandbox's registry and point the trivy plugin's
// db_repository at it, so trivy downloads it through its real download path,
// exactly as from a company's mirror of ghcr.io/aquasecurity/trivy-db:2.
package dbfixture

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aquasecurity/trivy-db/pkg/db"
	"github.com/aquasecurity/trivy-db/pkg/metadata"
	"github.com/aquasecurity/trivy-db/pkg/types"
	"github.com/aquasecurity/trivy-db/pkg/vulnsrc/vulnerability"
	bolt "go.etcd.io/bbolt"
)

// Advisory is one vulnerability of one source package on one platform:
// versions below FixedVersion are vulnerable.
type Advisory struct {
	ID           string // CVE-2025-9230
	Platform     string // trivy's bucket, "alpine 3.22"
	Package      string // source package (apk origin), "openssl"
	FixedVersion string
	Severity     string // UNKNOWN, LOW, MEDIUM, HIGH or CRITICAL
	Title        string
}

// Alpha is the DB the Alpha Members demo images need. It matches
// sandbox/images/fixtures.go (Vulnerabilities, AlpineRelease 3.22.2): the
// image alpha-members:1.0.1-vuln has openssl 3.5.0-r0 and must report
// CVE-2025-9230; alpha-members:1.0.0 has the fixed 3.5.4-r0 and must not.
var Alpha = []Advisory{{
	ID:           "CVE-2025-9230",
	Platform:     "alpine 3.22",
	Package:      "openssl",
	FixedVersion: "3.5.4-r0",
	Severity:     "HIGH",
	Title:        "openssl: Out-of-bounds read & write in RFC 3211 KEK Unwrap",
}}

// Media types and the annotation of trivy-db's OCI artifact
// (github.com/aquasecurity/trivy/pkg/db and pkg/oci).
const (
	LayerMediaType  = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
	ConfigMediaType = "application/vnd.aquasec.trivy.config.v1+json"
	TitleAnnotation = "org.opencontainers.image.title"
	ArchiveName     = "db.tar.gz"
)

// trivy-db keeps the open database in a package variable, so writes are
// serialized.
var writeMu sync.Mutex

// Write writes trivy.db and metadata.json into dir (trivy's <cache>/db),
// with updatedAt as the DB's build time. The DB is valid for a day after
// it, like Aqua's, which is rebuilt every few hours.
func Write(dir string, advisories []Advisory, updatedAt time.Time) error {
	writeMu.Lock()
	defer writeMu.Unlock()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range []string{db.Path(dir), metadata.Path(dir)} {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := db.Init(dir); err != nil {
		return fmt.Errorf("open trivy db in %s: %w", dir, err)
	}
	err := db.Config{}.BatchUpdate(func(tx *bolt.Tx) error { return put(tx, advisories) })
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write trivy db: %w", err)
	}
	updatedAt = updatedAt.UTC().Truncate(time.Second)
	return metadata.NewClient(dir).Update(metadata.Metadata{
		Version:      db.SchemaVersion,
		NextUpdate:   updatedAt.Add(24 * time.Hour),
		UpdatedAt:    updatedAt,
		DownloadedAt: updatedAt,
	})
}

// put stores advisories the way trivy-db's build does: the advisory detail
// first, then SaveAdvisoryDetails moves it into the platform's bucket.
func put(tx *bolt.Tx, advisories []Advisory) error {
	dbc := db.Config{}
	for _, a := range advisories {
		sev, err := types.NewSeverity(a.Severity)
		if err != nil {
			return fmt.Errorf("%s: %w", a.ID, err)
		}
		if err := dbc.PutDataSource(tx, a.Platform, sourceOf(a.Platform)); err != nil {
			return err
		}
		if err := dbc.PutAdvisoryDetail(tx, a.ID, a.Package, []string{a.Platform}, types.Advisory{FixedVersion: a.FixedVersion}); err != nil {
			return err
		}
		if err := dbc.SaveAdvisoryDetails(tx, a.ID); err != nil {
			return err
		}
		if err := dbc.PutVulnerabilityID(tx, a.ID); err != nil {
			return err
		}
		if err := dbc.PutVulnerability(tx, a.ID, types.Vulnerability{
			Title:          a.Title,
			Severity:       a.Severity,
			VendorSeverity: types.VendorSeverity{vulnerability.NVD: sev},
		}); err != nil {
			return err
		}
	}
	return tx.DeleteBucket([]byte("advisory-detail"))
}

func sourceOf(platform string) types.DataSource {
	return types.DataSource{ID: vulnerability.Alpine, Name: "Alpine Secdb", URL: "https://secdb.alpinelinux.org/"}
}

// Archive returns dir's trivy.db and metadata.json as db.tar.gz, the
// artifact's single layer.
func Archive(dir string) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"trivy.db", "metadata.json"} {
		if err := addFile(tw, filepath.Join(dir, name), name); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), ModTime: st.ModTime(), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// Publish writes a DB of advisories built at updatedAt and pushes it to ref
// (such as "127.0.0.1:5000/trivy-db:2"). It returns the artifact's digest.
func Publish(ctx context.Context, ref string, advisories []Advisory, updatedAt time.Time) (string, error) {
	dir, err := os.MkdirTemp("", "trivy-dbfixture-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := Write(dir, advisories, updatedAt); err != nil {
		return "", err
	}
	archive, err := Archive(dir)
	if err != nil {
		return "", err
	}
	return Push(ctx, ref, archive)
}
