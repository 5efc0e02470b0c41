// Package store holds what kassa's storage backends share: the numbered
// migration runner, pagination limits and the translation of storage
// failures into payment errors.
//
// The storage contract itself is payment.Store. Its implementations live in
// the sub-packages sqlite (the embedded default) and postgres (several kassa
// processes sharing one database), and storetest is the conformance suite
// both must pass. Each backend embeds its own migrations; this package only
// runs them.
package store
