package record_test

import (
	"testing"

	"github.com/pipectl/pipectl/record"
	"github.com/pipectl/pipectl/record/backendtest"
)

func TestLocalBackendContract(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) record.Backend { return record.NewLocal(t.TempDir()) })
}
