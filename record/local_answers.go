package record

import (
	"encoding/json"

	bolt "go.etcd.io/bbolt"
)

// The answers to a run's gates live in its bucket: `pipectl approve` and
// `reject` write them from any process (the database is opened per
// write), the waiting apply reads them (Recorder.Answers).
var answersBucket = []byte("answers")

// AppendAnswer records an answer in one write transaction, which bbolt
// makes exclusive: check sees every answer recorded before this one.
func (s *Local) AppendAnswer(id string, a Answer, check func(prior []Answer) string) (Answer, error) {
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(runsBucket).Bucket([]byte(id))
		if b == nil {
			return errNoRun(id)
		}
		ab, err := b.CreateBucketIfNotExists(answersBucket)
		if err != nil {
			return err
		}
		if check != nil {
			prior, err := readAnswers(ab)
			if err != nil {
				return err
			}
			a.Refused = check(prior)
		}
		v, err := json.Marshal(a)
		if err != nil {
			return err
		}
		n, err := ab.NextSequence()
		if err != nil {
			return err
		}
		return ab.Put(seqKey(n), v)
	})
	return a, err
}

// Answers returns every answer recorded for a run, oldest first.
func (s *Local) Answers(id string) ([]Answer, error) {
	var out []Answer
	err := s.runBucket(id, func(b *bolt.Bucket) error {
		ab := b.Bucket(answersBucket)
		if ab == nil {
			return nil
		}
		var err error
		out, err = readAnswers(ab)
		return err
	})
	return out, err
}

func readAnswers(ab *bolt.Bucket) ([]Answer, error) {
	var out []Answer
	err := ab.ForEach(func(_, v []byte) error {
		var a Answer
		if err := json.Unmarshal(v, &a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}
