package operation

import (
	"io"
	"os"

	"github.com/hashicorp/go-hclog"

	"github.com/pipectl/pipectl/engine"
)

// LogTo sends the plugin and host logs to file (appended), at level
// (trace, debug, info, warn, error; "" is info), with every secret the
// Redactor learns redacted: plugins may log what they were given. No
// file, or one that cannot be opened, drops them: logs never go to the
// terminal, where they would interleave with the run's output.
func (c *Configuration) LogTo(file, level string) {
	c.Logger = nil
	if file == "" {
		return
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	lvl := hclog.LevelFromString(level)
	if lvl == hclog.NoLevel {
		lvl = hclog.Info
	}
	c.Logger = hclog.New(&hclog.LoggerOptions{Name: "pipectl", Output: redactingWriter{f, c.Redactor}, Level: lvl})
}

// redactingWriter keeps secrets out of the log file.
type redactingWriter struct {
	w io.Writer
	r *engine.Redactor
}

func (w redactingWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(w.w, w.r.String(string(b))); err != nil {
		return 0, err
	}
	return len(b), nil
}
