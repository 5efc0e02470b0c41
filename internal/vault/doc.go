// Package vault is kassa's keyring and sealing: it keeps card numbers, CVCs
// and gateway credentials encrypted, and keys the MACs of card fingerprints
// and idempotent request bodies.
//
// # Keys
//
// A master key (KEK) comes from a key file (--master-key-file, or a generated
// development file in the data directory) or from KASSA_MASTER_KEY. It never
// touches the database. Master keys are numbered; a [Keyring] holds one or
// more versions and the newest one wraps new data keys. The text format, for
// a file and for the environment variable alike, is one key a line:
//
//	# comments and blank lines are allowed
//	kek 1 <base64 (standard, padded) of 32 random bytes>
//	kek 2 <…>
//
// A text that holds nothing but one bare base64 key is version 1.
//
// Each account has data keys (DEKs) per purpose ([payment.PurposeCard],
// [payment.PurposeCredentials], …), 32 random bytes each, stored in the
// database wrapped with AES-256-GCM under a KEK. The wrapping's additional
// data binds account, purpose, DEK version and KEK version, so a wrapped key
// moved to another row does not open either.
//
// # Ciphertexts
//
// [Vault.Seal] encrypts with AES-256-GCM and a random 96-bit nonce:
//
//	format (1 byte, 1) ‖ DEK version (uint32, big-endian) ‖ nonce (12) ‖ sealed ‖ tag (16)
//
// The additional data is the format byte, account, purpose and record id
// (each length-prefixed so bytes cannot move from one field to another) and
// the DEK version. A ciphertext copied to another record, purpose or account
// does not open: [Vault.Open] returns [ErrDecrypt].
//
// # Rotation
//
// A data key is used for at most Options.MaxUses encryptions (2^31 by
// default, well below GCM's 2^32 limit for random nonces). Uses are counted
// in the database, reserved in blocks, so several kassa processes sharing a
// database share the budget; when it runs out the next version is created.
// [Vault.RotateDataKey] rotates on demand. Old versions only decrypt. The
// MAC keys (fingerprints, request hashes) never rotate: a fingerprint must
// stay the same for the life of an account.
//
// `kassa keys rotate` adds a KEK version to the key file ([AddKEKVersion])
// and re-wraps every data key under it ([Vault.Rewrap]) without touching the
// data. A vault that meets a data key wrapped under a KEK version it does not
// know reloads its [KeySource] once, so other processes pick the new version
// up by themselves. Rewrap is idempotent; run it again (it then reports 0)
// before removing an old version from the key file.
package vault
