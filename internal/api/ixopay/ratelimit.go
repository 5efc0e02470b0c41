package ixopay

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
	"github.com/kassapay/kassa/internal/ratelimit"
)

// The status API's limits as IXOPAY documents them
// (documentation.ixopay.com/api/transaction/status-by-uuid and
// …/status-by-merchant-transaction-id): each API user 60 requests per 60
// seconds, and each uuid (or merchantTransactionId) 10 per 60 seconds.
// kassa's API user is the account, its Basic user.
var (
	statusUserLimit        = ratelimit.Limit{N: 60, Window: time.Minute}
	statusTransactionLimit = ratelimit.Limit{N: 10, Window: time.Minute}
)

// CodeTooManyRequests answers a request over a rate limit (HTTP 429).
const CodeTooManyRequests = 1009

// statusPrefix is the path prefix of the status API.
const statusPrefix = "/api/v3/status/"

// limitStatus takes r, a status request of p, from the account's budget
// and from its transaction's, or answers 429 with IXOPAY's 1009 when
// either is spent (a refused request takes from neither). The budgets are
// the caller's own: one merchant's requests never spend another's.
func (s *server) limitStatus(r *http.Request, p *payment.Principal) error {
	kind, id := "uuid", r.PathValue("uuid")
	if id == "" {
		kind, id = "merchantTransactionId", r.PathValue("merchantTransactionId")
	}
	acct := p.Account.ID
	lim, retry, ok := s.limits.Allow(
		ratelimit.Budget{Key: "status\x00" + acct, Limit: statusUserLimit},
		ratelimit.Budget{Key: budgetKey("status-tx", acct, r.PathValue("apiKey"), kind, id), Limit: statusTransactionLimit},
	)
	if ok {
		return nil
	}
	e := newError(http.StatusTooManyRequests, CodeTooManyRequests, "Too many requests")
	e.retryAfter, e.limit = retry, lim.N
	return e
}

// budgetKey joins parts into a key of bounded length: ids come from the
// path, and a long one is kept as its hash.
func budgetKey(parts ...string) string {
	k := strings.Join(parts, "\x00")
	if len(k) <= 160 {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return parts[0] + "\x00" + parts[1] + "\x00" + hex.EncodeToString(sum[:])
}
