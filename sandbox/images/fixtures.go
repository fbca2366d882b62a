// Package images builds the Alpha Members demo images that the sandbox pushes
// into its registry. They are built from scratch with go-containerregistry:
// one layer holding an Alpine release file and an apk database, which is all
// trivy needs to find OS packages. This file is the single list of what is in
// them, so the trivy vulnerability-DB fixture can be written to match.
package images

// AlpineRelease is the content of /etc/alpine-release in every demo image.
// Trivy looks advisories up in the bucket "alpine 3.22" (Alpine 3.22 is not
// end-of-life until 2027-04-30, so trivy scans it without complaint).
const AlpineRelease = "3.22.2"

// Repository is the demo images' repository inside the sandbox registry.
const Repository = "alpha-members"

// Package is one entry of an image's /lib/apk/db/installed. Trivy matches
// advisories by Origin, the source package.
type Package struct {
	Name    string
	Version string
	Origin  string
	License string
}

// Vulnerability is a CVE that the trivy DB fixture records for a source
// package: versions below FixedVersion are vulnerable.
type Vulnerability struct {
	ID           string
	Origin       string // source package, the DB's key under "alpine 3.22"
	FixedVersion string
	Severity     string
	Title        string
}

// Image is one demo image.
type Image struct {
	Tag      string
	Packages []Package
	// Findings lists the CVE ids a scan of this image must report.
	Findings []string
	// Fault is the broken build of the service this image runs
	// ($ALPHA_MEMBERS_FAULT, see cmd/alpha-members), "" for a good one.
	Fault string
}

// Vulnerabilities is what the trivy DB fixture must contain for the demo.
var Vulnerabilities = []Vulnerability{{
	ID:           "CVE-2025-9230",
	Origin:       "openssl",
	FixedVersion: "3.5.4-r0",
	Severity:     "HIGH",
	Title:        "openssl: Out-of-bounds read & write in RFC 3211 KEK Unwrap",
}}

// base is installed in every demo image, at versions no fixture flags.
var base = []Package{
	{Name: "alpine-baselayout-data", Version: "3.7.0-r0", Origin: "alpine-baselayout", License: "GPL-2.0-only"},
	{Name: "musl", Version: "1.2.5-r10", Origin: "musl", License: "MIT"},
	{Name: "busybox", Version: "1.37.0-r19", Origin: "busybox", License: "GPL-2.0-only"},
	{Name: "ca-certificates-bundle", Version: "20250911-r0", Origin: "ca-certificates", License: "MPL-2.0 AND MIT"},
}

func openssl(version string) []Package {
	return []Package{
		{Name: "libcrypto3", Version: version, Origin: "openssl", License: "Apache-2.0"},
		{Name: "libssl3", Version: version, Origin: "openssl", License: "Apache-2.0"},
	}
}

// Images are the demo images: a good one, whose openssl is at the fixed
// version (a fixture CVE fixed at the installed version must NOT be
// reported), and one whose openssl is older than the fix.
var Images = append([]Image{
	{Tag: "1.0.0", Packages: clean},
	{Tag: "1.0.1-vuln", Packages: append(append([]Package{}, base...), openssl("3.5.0-r0")...), Findings: []string{"CVE-2025-9230"}},
}, faultImages()...)

var clean = append(append([]Package{}, base...), openssl("3.5.4-r0")...)

// Faults are the broken builds of 1.0.0 that the flagship's tests deploy
// on the real node, each tagged 1.0.0-FAULT: their scans pass, and each
// fails one check of the pipeline on a running container.
var Faults = []string{"crash", "unready", "unhealthy", "auth-down", "members-down", "crash-on-request"}

func faultImages() []Image {
	var out []Image
	for _, f := range Faults {
		out = append(out, Image{Tag: "1.0.0-" + f, Packages: clean, Fault: f})
	}
	return out
}
