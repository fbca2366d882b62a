package cluster

import "testing"

// mountinfo escapes spaces and the like in mount points; down must unmount
// the real paths (a state dir may contain a space).
func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/run/pipectl-sandbox-node/kubelet`: "/run/pipectl-sandbox-node/kubelet",
		`/home/me/my\040project/.pipectl/x`: "/home/me/my project/.pipectl/x",
		`/a\011tab\134back`:                 "/a\ttab\\back",
		`/trailing\04`:                      `/trailing\04`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}
