// Package payment holds kassa's domain: accounts and API keys, payment
// methods, events, the errors every layer speaks, and the interfaces the rest
// of kassa implements (the Store contract and the Vault).
//
// It imports only the standard library. Stores, the vault, the engine and the
// API dialects import it; it imports none of them.
package payment
