package kubernetes

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The votes' policy changes when its spec or metadata is written, not
// when the API server records its type checking in its status: a vote
// written between the two is trusted.
func TestLastChangeIgnoresStatusWrites(t *testing.T) {
	at := func(s int) *metav1.Time { v := metav1.NewTime(time.Unix(1_800_000_000+int64(s), 0)); return &v }
	policy := metav1.ObjectMeta{CreationTimestamp: *at(0), ManagedFields: []metav1.ManagedFieldsEntry{
		{Manager: "pipectl", Operation: metav1.ManagedFieldsOperationUpdate, Time: at(5)},
		{Manager: "validatingadmissionpolicy-status-controller", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status", Time: at(9)},
	}}
	binding := metav1.ObjectMeta{CreationTimestamp: *at(2)}
	if got, want := lastChange(&policy, &binding), at(5).Time; !got.Equal(want) {
		t.Errorf("lastChange = %v, want %v: the spec's last write, not the status controller's", got, want)
	}
}
