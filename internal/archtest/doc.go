// Package archtest holds the test that enforces kassa's dependency rule
// (ARCHITECTURE §1): the domain imports nothing of ours, dialects reach the
// data only through the engine, and only cmd/kassa wires everything.
package archtest
