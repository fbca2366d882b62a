package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
)

// interruptSignals stop a run the same way: Ctrl-C, a termination, and a
// dropped terminal or ssh session (SIGHUP). A reader of our output that
// went away (`apply | head`) does too: see outputWatch. In every case the
// failure handlers and finally steps still run.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// interruptible returns a context for the main work, cancelled by a first
// interrupt (or when the output's reader is gone), and one cancelled by a
// second, for failure handlers. (A run that can no longer be recorded is
// stopped by the apply operation itself.)
func interruptible(parent context.Context, outputGone <-chan struct{}, onFirst func()) (ctx, kill context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	kill, cancelKill := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, interruptSignals...)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-outputGone:
		case <-done:
			return
		}
		onFirst()
		cancel()
		select {
		case <-sigs:
			cancelKill()
		case <-done:
		}
	}()
	return ctx, kill, func() {
		close(done)
		signal.Stop(sigs)
		cancel()
		cancelKill()
	}
}

// outputWatch is a command's output that notices when its reader went
// away (EPIPE). Go would otherwise end pipectl with SIGPIPE at the next
// write to stdout, in the middle of a step, with no failure handler and no
// finally; watchOutput makes such writes fail instead, and Gone is closed.
type outputWatch struct {
	w    io.Writer
	gone chan struct{}
	once *sync.Once
}

// watchOutput wraps stdout and stderr; both close the same channel. A
// terminal is left as it is: it has no reader to go away (a closed one
// hangs up: SIGHUP), and the live view needs the *os.File itself to size
// and redraw its panel.
func watchOutput(stdout, stderr io.Writer) (out, errOut io.Writer, gone <-chan struct{}) {
	signal.Ignore(syscall.SIGPIPE)
	ch, once := make(chan struct{}), &sync.Once{}
	out, errOut = outputWatch{stdout, ch, once}, outputWatch{stderr, ch, once}
	if terminal(stdout) {
		out = stdout
	}
	return out, errOut, ch
}

func (o outputWatch) Write(b []byte) (int, error) {
	n, err := o.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		o.once.Do(func() { close(o.gone) })
	}
	return n, err
}

// withInterrupt makes cmd's context end at an interrupt, for commands that
// start plugins but have no run to stop (init, plan, validate, plugins): a
// Ctrl-C then ends the plugins, with what they started, and the command
// says it was interrupted, instead of pipectl dying with them left behind.
func withInterrupt(cmd *cobra.Command) (stop func()) {
	ctx, stop := signal.NotifyContext(cmd.Context(), interruptSignals...)
	cmd.SetContext(ctx)
	return stop
}
