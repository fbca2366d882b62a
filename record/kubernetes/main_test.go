package kubernetes

import (
	"os"
	"testing"
	"time"

	"github.com/pipectl/pipectl/internal/sandboxtest"
)

// The backend is tested against the sandbox's real API server (kwok nodes
// only: a backend needs no pod). The CLI's binaries are built into a
// directory of this test process's own, removed once the sandbox stops:
// CI runs and several checkouts test side by side on one machine.
func TestMain(m *testing.M) {
	code := sandboxtest.RunWith(m, sandboxtest.Options{})
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
	os.Exit(code)
}

// testClient connects to a fresh namespace of the sandbox, with a short
// Lease so that expiry is observed within a test.
func testClient(t testing.TB, lease time.Duration) *Client {
	t.Helper()
	env := sandboxtest.Cluster(t)
	c, err := Connect(Config{Namespace: env.Namespace, Rest: env.Config, LeaseDuration: lease})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
