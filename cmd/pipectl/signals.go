package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// interruptible returns a context for the main work, cancelled by a first
// interrupt, and one cancelled by a second, for failure handlers.
func interruptible(parent context.Context, onFirst func()) (ctx, kill context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	kill, cancelKill := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			onFirst()
			cancel()
		case <-done:
			return
		}
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
