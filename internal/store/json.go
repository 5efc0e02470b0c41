package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/kassapay/kassa/internal/payment"
)

// UnmarshalObject decodes a JSON object of arbitrary values, as stored for
// gateway settings and gateway-specific fields. JSON null gives a nil map.
//
// encoding/json would turn every number into a float64, so that
// map[string]any{"latency_ms": int64(5)} came back as float64(5). Numbers
// are decoded exactly instead: a number that parses as an int64 (written
// without fraction or exponent) comes back as int64, any other as
// float64, at any depth. A float64 with an integral value (float64(5) is
// written "5") therefore also comes back as int64: the JSON does not say
// which it was.
func UnmarshalObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("store: trailing data after JSON object")
	}
	for k, v := range m {
		n, err := exactNumbers(v)
		if err != nil {
			return nil, fmt.Errorf("store: %q: %w", k, err)
		}
		m[k] = n
	}
	return m, nil
}

// exactNumbers replaces the json.Numbers in v by int64 or float64.
func exactNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, err
		}
		return f, nil
	case map[string]any:
		for k, e := range x {
			n, err := exactNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	case []any:
		for i, e := range x {
			n, err := exactNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	}
	return v, nil
}

// storedCredential is the stored form of payment.StoredCredential, with
// names of its own so that renaming a Go field does not change the schema.
type storedCredential struct {
	Initiator string `json:"initiator"`
	Reason    string `json:"reason"`
}

// MarshalStoredCredential encodes sc as a JSON object, or returns nil for
// nil (stored as SQL NULL).
func MarshalStoredCredential(sc *payment.StoredCredential) ([]byte, error) {
	if sc == nil {
		return nil, nil
	}
	return json.Marshal(storedCredential{Initiator: sc.Initiator, Reason: sc.Reason})
}

// UnmarshalStoredCredential decodes what MarshalStoredCredential made; nil
// (SQL NULL) gives nil.
func UnmarshalStoredCredential(data []byte) (*payment.StoredCredential, error) {
	if data == nil {
		return nil, nil
	}
	var sc storedCredential
	if err := json.Unmarshal(data, &sc); err != nil {
		return nil, err
	}
	return &payment.StoredCredential{Initiator: sc.Initiator, Reason: sc.Reason}, nil
}
