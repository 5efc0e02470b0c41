package ixopay

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/kassapay/kassa/internal/engine"
)

// IXOPAY's limits of the fields kassa keeps but does not act on, and
// kassa's own of extraData: at most as long, compact, as a payment's
// metadata value may be, so that every transaction type keeps the same.
const (
	maxAdditionalID       = 50
	maxMerchantMetaData   = 255
	maxDescription        = 255
	maxExtraDataEntries   = 64
	maxExtraDataKey       = 64
	maxExtraDataCompacted = 500
)

// kept is what a transaction's reference keeps of its request's fields
// kassa does not act on (payment.TransactionReference.Attributes), so that
// every transaction, a follow-up as much as a debit, shows its own. The
// status API and callbacks show referenceUuid, extraData and
// merchantMetaData, as IXOPAY's do; additionalId1/2 and description are
// kept, not shown (IXOPAY shows neither).
type kept struct {
	ReferenceUUID    string          `json:"referenceUuid,omitempty"`
	AdditionalID1    string          `json:"additionalId1,omitempty"`
	AdditionalID2    string          `json:"additionalId2,omitempty"`
	Description      string          `json:"description,omitempty"`
	ExtraData        json.RawMessage `json:"extraData,omitempty"`
	MerchantMetaData string          `json:"merchantMetaData,omitempty"`
}

// describes says which transaction types take a description: IXOPAY's
// void and deregister take none (its PHP client sends none), so one sent
// there is ignored like any member IXOPAY does not use.
func describes(typ string) bool { return typ != TypeVoid && typ != TypeDeregister }

// keptOf is what a request of type typ keeps, or nil when it sends none of
// it. checkKept has accepted the request.
func keptOf(typ string, req *txRequest) json.RawMessage {
	k := kept{ReferenceUUID: req.ReferenceUUID, AdditionalID1: req.AdditionalID1, AdditionalID2: req.AdditionalID2,
		ExtraData: compactJSON(req.ExtraData), MerchantMetaData: req.MerchantMetaData}
	if describes(typ) {
		k.Description = req.Description
	}
	if len(k.ExtraData) == 2 { // {}
		k.ExtraData = nil
	}
	if k.ReferenceUUID == "" && k.AdditionalID1 == "" && k.AdditionalID2 == "" && k.Description == "" &&
		k.ExtraData == nil && k.MerchantMetaData == "" {
		return nil
	}
	b, err := json.Marshal(k)
	if err != nil {
		return nil
	}
	return b
}

// keptIn reads a reference's kept fields; an empty kept for a reference
// that keeps none (or one written before references kept them).
func keptIn(attributes json.RawMessage) kept {
	var k kept
	if len(attributes) > 0 {
		_ = json.Unmarshal(attributes, &k) // the dialect wrote it; nothing else can be there
	}
	return k
}

// checkKept refuses, naming the field, a kept field that is too long,
// holds control characters or a card number: kept fields are stored and
// shown in the clear, in responses, callbacks and logs.
func checkKept(typ string, req *txRequest) error {
	texts := []struct {
		name, v string
		max     int
	}{
		{"additionalId1", req.AdditionalID1, maxAdditionalID},
		{"additionalId2", req.AdditionalID2, maxAdditionalID},
		{"merchantMetaData", req.MerchantMetaData, maxMerchantMetaData},
	}
	if describes(typ) {
		texts = append(texts, struct {
			name, v string
			max     int
		}{"description", req.Description, maxDescription})
	}
	for _, f := range texts {
		if len(f.v) > f.max {
			return invalid(CodeInvalidFormat, "%s: must be at most %d characters.", f.name, f.max)
		}
		if err := checkPrintable(f.name, f.v); err != nil {
			return err
		}
	}
	ed := compactJSON(req.ExtraData)
	if len(ed) == 0 {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(ed, &m); err != nil {
		return invalid(CodeInvalidFormat, "extraData: must be an object.")
	}
	if len(m) > maxExtraDataEntries {
		return invalid(CodeInvalidFormat, "extraData: must have at most %d entries.", maxExtraDataEntries)
	}
	for k := range m {
		if k == "" || len(k) > maxExtraDataKey {
			return invalid(CodeInvalidFormat, "extraData: names must be 1 to %d characters.", maxExtraDataKey)
		}
	}
	if len(ed) > maxExtraDataCompacted {
		return invalid(CodeInvalidFormat, "extraData: must be at most %d characters as compact JSON.", maxExtraDataCompacted)
	}
	return checkPrintable("extraData", string(ed))
}

// checkPrintable refuses invalid UTF-8, control characters and card
// numbers in the value of field, without repeating it.
func checkPrintable(field, v string) error {
	if !utf8.ValidString(v) || bytes.ContainsFunc([]byte(v), func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return invalid(CodeInvalidChars, "%s: must be printable text.", field)
	}
	return engine.CheckNoCardNumber(field, v)
}
