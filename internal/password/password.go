// Package password hashes dashboard users' passwords with argon2id (RFC
// 9106) and checks them. A hash is stored in the PHC string form
// "$argon2id$v=19$m=65536,t=3,p=2$<salt>$<key>", which carries its own
// parameters, so raising them later leaves older hashes valid.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// Default is what new hashes use: 64 MiB, 3 passes, 2 lanes (RFC 9106's
// second recommended option with fewer lanes, for small servers), about
// 100 ms on one core. ADR 0029 says why.
var Default = Params{Memory: 64 * 1024, Time: 3, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
	// MaxLen bounds a password: argon2 takes any length, but a megabyte
	// of "password" is a way to burn a server's time.
	MaxLen = 1024
)

// ErrMalformed reports a stored hash that is not one Hash made.
var ErrMalformed = errors.New("password: malformed hash")

// Hash returns pw's argon2id hash under p with a fresh random salt.
func Hash(pw string, p Params) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether pw is the password hash was made of. The keys
// are compared in constant time. ErrMalformed if hash cannot be read.
func Verify(pw, hash string) (bool, error) {
	p, salt, key, err := parse(hash)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

func parse(hash string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrMalformed
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrMalformed
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Time == 0 || p.Time > 16 || p.Threads == 0 || p.Memory < 8*uint32(p.Threads) || p.Memory > 4<<20 {
		return p, nil, nil, ErrMalformed
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, ErrMalformed
	}
	return p, salt, key, nil
}

// Generate returns a random password of 20 base62 characters (~119 bits),
// for a user created without one.
func Generate() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 20)
	rand.Read(b)
	out := make([]byte, len(b))
	for i, c := range b {
		// 256 is not a multiple of 62; rejection keeps the draw uniform.
		for c >= 248 {
			var r [1]byte
			rand.Read(r[:])
			c = r[0]
		}
		out[i] = alphabet[c%62]
	}
	return string(out)
}
