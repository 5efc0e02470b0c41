// Package archtest holds the tests that keep kassa's structure: the
// dependency rule (docs/architecture.md §1) — the domain imports nothing of
// ours, dialects reach the data only through the engine, and only cmd/kassa
// wires everything — and a repository that stands on its own, whose files
// point at nothing outside it and whose Markdown links resolve.
package archtest
