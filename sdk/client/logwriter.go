package client

import (
	"bufio"
	"io"

	"github.com/hashicorp/go-hclog"
)

// lineLogger turns a plugin's stray stdout/stderr output (fmt.Println in an
// action) into debug lines of the host's logger, one per line.
type lineLogger struct {
	*io.PipeWriter
	done chan struct{}
}

func logWriter(logger hclog.Logger, stream string) *lineLogger {
	r, w := io.Pipe()
	l := &lineLogger{PipeWriter: w, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logger.Debug(sc.Text(), "stream", stream)
		}
		_, _ = io.Copy(io.Discard, r) // a line too long for the scanner
	}()
	return l
}

// Close flushes what was written to the logger.
func (l *lineLogger) Close() error {
	err := l.PipeWriter.Close()
	<-l.done
	return err
}
