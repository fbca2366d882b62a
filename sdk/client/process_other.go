//go:build !unix

package client

import "os/exec"

func setProcessGroup(*exec.Cmd) {}

func killProcessGroup(int) {}
