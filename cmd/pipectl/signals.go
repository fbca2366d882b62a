package main

import (
	"os"
	"os/signal"
	"syscall"
)

func notifyInterrupts() chan os.Signal {
	c := make(chan os.Signal, 2)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	return c
}

func stopInterrupts(c chan os.Signal) { signal.Stop(c) }
