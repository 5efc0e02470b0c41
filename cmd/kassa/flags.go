package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// envName is the environment variable standing for a flag: --data-dir is
// KASSA_DATA_DIR.
func envName(flagName string) string {
	return "KASSA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newFlagSet returns a flag set whose usage names every flag's environment
// variable.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	return newFlagSetEnv(name, usage, envName, stderr)
}

// newFlagSetEnv is newFlagSet for a command whose flags stand for other
// environment variables (env names them), read through a getenv that maps
// envName's names to those.
func newFlagSetEnv(name, usage string, envName func(string) string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\n\nFlags (each may also be set by the environment variable shown):\n", usage)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %q)", f.DefValue)
			}
			fmt.Fprintf(stderr, "  --%s  [%s]\n      %s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	return fs
}

// parseFlags parses args, then fills every flag not given on the command line
// from its KASSA_* environment variable.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see %s -h)", fs.Arg(0), fs.Name())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	return err
}
