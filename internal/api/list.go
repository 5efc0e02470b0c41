package api

import (
	"net/http"
	"strconv"

	"github.com/kassapay/kassa/internal/payment"
)

// Page sizes of lists.
const (
	DefaultListLimit = 10
	MaxListLimit     = 100
)

// ParseList reads the pagination parameters of a list request: limit (1 to
// 100, default 10) and starting_after (the id of the last object of the
// previous page). A bad limit is a parameter_invalid error (HTTP 422) with
// param "limit".
func ParseList(r *http.Request) (payment.ListParams, error) {
	q := r.URL.Query()
	p := payment.ListParams{Limit: DefaultListLimit, StartingAfter: q.Get("starting_after")}
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > MaxListLimit || len(s) > 1 {
			return p, payment.Invalid(payment.CodeParameterInvalid, "limit",
				"limit must be an integer between 1 and %d.", MaxListLimit)
		}
		p.Limit = n
	}
	return p, nil
}
