package kubernetes

import (
	"testing"
	"time"

	"github.com/pipectl/pipectl/record"
	"github.com/pipectl/pipectl/record/backendtest"
)

// The record layer's contract, against the sandbox's API server: each
// subtest gets a namespace of its own, and Leases of 2 s so that a killed
// holder's Lease expires within the test.
func TestContract(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) record.Backend {
		return New(testClient(t, 2*time.Second), "contract", t.TempDir())
	})
}
