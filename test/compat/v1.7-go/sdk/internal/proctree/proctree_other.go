//go:build !linux

package proctree

import "syscall"

// Supported tells whether this platform can find and kill descendants.
const Supported = false

func BecomeSubreaper() error                    { return nil }
func SetParentDeathSignal(syscall.Signal) error { return nil }
func Children(int) []int                        { return nil }
func Descendants(int) []int                     { return nil }
func KillDescendants(int)                       {}
func KillTrees(func() []int)                    {}
