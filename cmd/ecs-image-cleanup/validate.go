package main

import "io"

// cmdValidate is a placeholder until the policy package lands.
func cmdValidate(args []string, stdout, stderr io.Writer) int { return exitUsage }
