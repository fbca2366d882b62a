package engine

import (
	"unicode/utf8"

	"github.com/pipectl/pipectl/sdk"
)

// cutLines rejoins the pieces of a log line cut by a plugin far enough for
// no secret to be split between two events. A plugin's SDK sends a line
// longer than sdk.MaxLogLine in pieces, and does not know the run's
// secrets: a secret across the cut would be printed as two halves, each
// too short to be found. So the last Longest()-1 bytes of a piece (moved
// back to the start of any secret they would split) are held and put in
// front of the next piece of its stream. The protocol does not mark a cut:
// a piece is taken for one when it is as long as a cut makes it.
type cutLines struct {
	redactor *Redactor
	held     map[string]string // by stream
}

// line is the text to emit for a piece of a line on stream.
func (c *cutLines) line(stream, piece string) string {
	line := c.held[stream] + piece
	delete(c.held, stream)
	keep := c.redactor.Longest() - 1
	if len(piece) <= sdk.MaxLogLine-utf8.UTFMax || keep <= 0 {
		return line
	}
	at := c.redactor.SafeCut(line, len(line)-keep)
	if c.held == nil {
		c.held = map[string]string{}
	}
	c.held[stream] = line[at:]
	return line[:at]
}

// flush hands on what is still held, once the action has ended.
func (c *cutLines) flush(emit func(stream, line string)) {
	for stream, line := range c.held {
		emit(stream, line)
	}
	c.held = nil
}
