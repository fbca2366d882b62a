// Command trivy-dbfixture writes the Alpha Members trivy vulnerability DB
// (package dbfixture) and pushes it to a registry as a trivy-db OCI
// artifact, or writes it straight into a trivy cache directory.
//
//	go run ./cmd/trivy-dbfixture -push "$PIPECTL_SANDBOX_REGISTRY/trivy-db:2"
//	go run ./cmd/trivy-dbfixture -cache ~/.cache/trivy
//
// Then point the trivy plugin's db_repository at the pushed reference (or
// its cache_dir at the cache).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/pipectl/pipectl/plugins/trivy/dbfixture"
)

func main() {
	push := flag.String("push", "", "push the DB to this reference, such as 127.0.0.1:5000/trivy-db:2")
	cache := flag.String("cache", "", "write the DB into this trivy cache directory (its db/ subdirectory)")
	age := flag.Duration("age", 0, "make the DB this old (its build time is now minus age), to try the too-old path")
	flag.Parse()
	if *push == "" && *cache == "" {
		fmt.Fprintln(os.Stderr, "trivy-dbfixture: give -push REF, -cache DIR or both")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *push, *cache, time.Now().Add(-*age)); err != nil {
		fmt.Fprintln(os.Stderr, "trivy-dbfixture:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, push, cache string, builtAt time.Time) error {
	if cache != "" {
		dir := filepath.Join(cache, "db")
		if err := dbfixture.Write(dir, dbfixture.Alpha, builtAt); err != nil {
			return err
		}
		fmt.Printf("wrote %s\n", dir)
	}
	if push != "" {
		digest, err := dbfixture.Publish(ctx, push, dbfixture.Alpha, builtAt)
		if err != nil {
			return err
		}
		fmt.Printf("pushed %s@%s\n", push, digest)
	}
	return nil
}
