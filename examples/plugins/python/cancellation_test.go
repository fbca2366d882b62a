package pyecho

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pipectl/pipectl/sdk/client"
	"github.com/pipectl/pipectl/sdk/plugintest"
)

// A running Apply learns of its cancellation, from Stop and from the host
// cancelling the call, through pipectl_plugin's call.cancelled.
func TestCancellation(t *testing.T) {
	p := plugintest.Start(t, filepath.Join("testdata", "pipectl-plugin-pywait"))

	// apply starts until_cancelled and returns once it is waiting.
	apply := func(ctx context.Context, marker string) <-chan error {
		waiting, done := make(chan struct{}), make(chan error, 1)
		go func() {
			res, err := p.Plugin.Apply(ctx, client.ApplyRequest{Action: "until_cancelled", Config: plugintest.Object(map[string]any{"marker": marker})},
				func(ev client.Event) {
					if ev.Line == "waiting" {
						close(waiting)
					}
				})
			if err == nil && !hasError(res.Diagnostics, "Cancelled", "") {
				err = errors.New("the action was not cancelled")
			}
			done <- err
		}()
		select {
		case <-waiting:
		case err := <-done:
			t.Fatalf("apply ended before it waited: %v", err)
		}
		return done
	}

	t.Run("stop", func(t *testing.T) {
		done := apply(t.Context(), filepath.Join(t.TempDir(), "marker"))
		if err := p.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("cancelled call", func(t *testing.T) {
		marker := filepath.Join(t.TempDir(), "marker")
		ctx, cancel := context.WithCancel(t.Context())
		done := apply(ctx, marker)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("apply: %v, want cancelled", err)
		}
		// The host has gone; the plugin's side of the call still sees it,
		// well before the action's own 30 s limit.
		deadline := time.Now().Add(20 * time.Second)
		for _, err := os.Stat(marker); err != nil; _, err = os.Stat(marker) {
			if time.Now().After(deadline) {
				t.Fatal("the plugin did not see the call cancelled")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
