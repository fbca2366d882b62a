package v1

import "time"

// Artifact is a file a step attached to the run: a scan report, a
// diagnosis, a rendered file. Its content was redacted by the engine.
type Artifact struct {
	Seq       uint64    `json:"seq"` // its number in the run, from 1
	Phase     Phase     `json:"phase"`
	Stage     string    `json:"stage,omitempty"`
	Step      string    `json:"step"`
	Instance  string    `json:"instance,omitempty"`
	Attempt   int       `json:"attempt,omitempty"`
	Name      string    `json:"name"`
	MediaType string    `json:"media_type,omitempty"`
	Size      int       `json:"size"`               // as the plugin sent it
	Time      time.Time `json:"time"`               // when it was attached
	NotKept   string    `json:"not_kept,omitempty"` // why the content is not in the record
}

// Kept reports whether the record holds the artifact's content.
func (a *Artifact) Kept() bool { return a.NotKept == "" }
