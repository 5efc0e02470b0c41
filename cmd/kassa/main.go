// Command kassa is the kassa payment orchestration server and its
// administration commands. It is the only place that wires kassa's parts
// together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tuneGC(os.Getenv)
	m := &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	err := m.Run(ctx, os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kassa:", err)
		os.Exit(1)
	}
}

// Main is one invocation of kassa, with its outside world made explicit so
// tests can run it in-process.
type Main struct {
	// Stdin is read by commands that take a secret on standard input
	// (kassa user create's password); nil reads as empty.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// OnListen, when set, is told each listener serve runs ("native",
	// "spreedly") and its address once it accepts connections; the main
	// listener, "native", is told last.
	OnListen func(name, addr string)
}

const usage = `kassa — self-hosted payment orchestration

Usage:
  kassa serve            run the server (SQLite in ./kassa-data unless --database-url says otherwise)
  kassa migrate          apply database migrations and exit
  kassa account create   create an account and print its id and API keys
  kassa user create      create a dashboard user (or add one to another account)
  kassa keys rotate      add a new master key version and re-wrap every data key under it
  kassa bench            load a throwaway kassa (or --url) with purchases and report throughput
  kassa simulator serve  run the simulator as a stand-alone provider over HTTP (gateway type simulator_http)
  kassa version          print the version
  kassa help             show this text

Run 'kassa <command> -h' for a command's flags. Every flag has a KASSA_* environment
equivalent (--data-dir is KASSA_DATA_DIR; kassa simulator serve's are KASSA_SIMULATOR_*).
The master key may also be given as text in KASSA_MASTER_KEY.`

// Run runs the command in args.
func (m *Main) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(m.Stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return m.serve(ctx, rest)
	case "migrate":
		return m.migrate(ctx, rest)
	case "bench":
		return m.bench(ctx, rest)
	case "account":
		if len(rest) == 0 || rest[0] != "create" {
			return errors.New("usage: kassa account create --name NAME [--live] [--json]")
		}
		return m.accountCreate(ctx, rest[1:])
	case "simulator":
		if len(rest) == 0 || rest[0] != "serve" {
			return errors.New("usage: kassa simulator serve [--addr ADDR] [--data FILE.db]")
		}
		return m.simulatorServe(ctx, rest[1:])
	case "user":
		if len(rest) == 0 || rest[0] != "create" {
			return errors.New("usage: kassa user create --account ID --email EMAIL [--role admin|viewer]")
		}
		return m.userCreate(ctx, rest[1:])
	case "keys":
		if len(rest) == 0 || rest[0] != "rotate" {
			return errors.New("usage: kassa keys rotate")
		}
		return m.keysRotate(ctx, rest[1:])
	case "version", "--version", "-v":
		fmt.Fprintln(m.Stdout, versionString())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(m.Stdout, usage)
		return nil
	}
	fmt.Fprintln(m.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
