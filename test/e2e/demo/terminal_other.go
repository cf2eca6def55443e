//go:build !linux

package main

// takeTerminal is Linux-only; elsewhere `make demo` reports Ctrl-C as make does.
func takeTerminal() (restore func()) { return func() {} }
