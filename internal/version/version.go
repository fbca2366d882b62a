// Package version holds the pipectl version, set at link time by the Makefile.
package version

// Version is overridden with -ldflags "-X .../internal/version.Version=...".
var Version = "dev"
