package kubernetes

import (
	"encoding/json"
	"hash/crc32"

	corev1 "k8s.io/api/core/v1"

	"github.com/pipectl/pipectl/record"
)

// A run object's head (annotation annHead) is its summary without the
// step records, with the CRC-32C and size of the summary it was made from
// and how many step records it has. Pruning, at the start of every apply,
// lists every run object: it decoded each summary, every step record of up
// to DefaultKeep runs per environment, where the heads are enough (as for
// LatestOf and ListHeads). A head whose CRC is not that of the object's
// summary (a pipectl without heads rewrote the summary and kept the
// annotation) or that has no step count is not used: the summary is read,
// as before. The CRC is of the gzipped summary, so checking it needs no
// gunzip.
const annHead = "pipectl.dev/head"

// headMax bounds a head, far under the 256 KiB all of an object's
// annotations may hold: a run whose outputs or gates make a larger one
// has none, and is read whole.
const headMax = 64 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type head struct {
	SummaryCRC   uint32      `json:"summary_crc32c"`
	SummaryBytes int         `json:"summary_bytes"`
	StepCount    *int        `json:"step_count"` // the summary's step records; a head without is not used
	Run          *record.Run `json:"run"`
}

// setHead annotates s with the head of summary, z being it gzipped.
func setHead(s *corev1.Secret, summary, z []byte) error {
	var r record.Run
	if err := json.Unmarshal(summary, &r); err != nil {
		return err
	}
	count := len(r.Steps)
	r.Steps = nil
	j, err := json.Marshal(head{SummaryCRC: crc32.Checksum(z, castagnoli), SummaryBytes: len(summary), StepCount: &count, Run: &r})
	if err != nil {
		return err
	}
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	if len(j) > headMax {
		delete(s.Annotations, annHead)
		return nil
	}
	s.Annotations[annHead] = string(j)
	return nil
}

// headOf is the head of s when it is that of s's summary, else nil.
func headOf(s *corev1.Secret) *head {
	v, ok := s.Annotations[annHead]
	if !ok {
		return nil
	}
	var h head
	if json.Unmarshal([]byte(v), &h) != nil || h.Run == nil || h.StepCount == nil ||
		h.SummaryCRC != crc32.Checksum(s.Data[keySummary], castagnoli) {
		return nil
	}
	h.Run.StepCount = *h.StepCount
	return &h
}
