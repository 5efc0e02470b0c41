package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kassapay/kassa/internal/payment"
)

// paymentsPageSize is how many payments a list page shows.
const paymentsPageSize = 25

// paymentStatuses are the statuses the search offers.
var paymentStatuses = []payment.Status{payment.StatusInitiated, payment.StatusAuthorized, payment.StatusPartiallyCaptured,
	payment.StatusCaptured, payment.StatusPartiallyCapturedRefunded, payment.StatusPartiallyRefunded, payment.StatusRefunded,
	payment.StatusAuthorizationVoided, payment.StatusDeclined, payment.StatusFailed, payment.StatusUnknown, payment.StatusOnHold}

// paymentsPage is the payments list's data.
type paymentsPage struct {
	// Query is a payment id (pay_…) or a merchant reference.
	Query    string
	Status   string
	Statuses []payment.Status
	// The other filters, as typed: gateway id, card last4 and
	// fingerprint, customer id, amounts in minor units, dates (UTC,
	// YYYY-MM-DD, both inclusive).
	Gateway, Last4, Fingerprint, Customer string
	AmountMin, AmountMax                  string
	CreatedFrom, CreatedTo                string
	Payments                              []*payment.Payment
	// Next is the URL of the next page, "" on the last.
	Next string
	// Paged is set past the first page; First is then the URL of the
	// first page of the same search.
	Paged bool
	First string
	// Filtered is set when a filter beyond the search box is in use.
	Filtered bool
	// Error is a search the list could not run (an unknown status, a bad
	// amount); Field names the filter it is about.
	Error string
	Field string
}

// searchFields are the payments search's query parameters besides paging.
var searchFields = []string{"q", "status", "gateway", "card_last4", "card_fingerprint", "customer", "amount_min", "amount_max",
	"created_from", "created_to"}

// payments lists the account's payments, newest first, filtered by every
// filter the store offers: q is a payment id (pay_…) or a merchant
// reference; status, gateway, card_last4, card_fingerprint, customer,
// amount_min and amount_max (minor units, inclusive), created_from and
// created_to (dates, inclusive). Paging by the store's cursor
// (starting_after). A filter that cannot be used is a 422 naming it.
func (s *Server) payments(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx := r.Context()
	in := r.URL.Query()
	get := func(name string) string { return strings.TrimSpace(in.Get(name)) }
	pp := &paymentsPage{Query: get("q"), Status: get("status"), Statuses: paymentStatuses,
		Gateway: get("gateway"), Last4: get("card_last4"), Fingerprint: get("card_fingerprint"), Customer: get("customer"),
		AmountMin: get("amount_min"), AmountMax: get("amount_max"), CreatedFrom: get("created_from"), CreatedTo: get("created_to"),
		Paged: in.Get("starting_after") != ""}
	if len(pp.Query) > 200 {
		pp.Query = pp.Query[:200]
	}
	pp.Filtered = pp.Gateway != "" || pp.Last4 != "" || pp.Fingerprint != "" || pp.Customer != "" || pp.AmountMin != "" ||
		pp.AmountMax != "" || pp.CreatedFrom != "" || pp.CreatedTo != ""
	if pp.Paged {
		first := url.Values{}
		for _, k := range searchFields {
			if v := strings.TrimSpace(in.Get(k)); v != "" {
				first.Set(k, v)
			}
		}
		pp.First = Base + "/payments?" + first.Encode()
	}
	f, err := searchFilter(pp)
	if err == nil {
		f.ListParams = payment.ListParams{Limit: paymentsPageSize, StartingAfter: in.Get("starting_after")}
		pp.Payments, pp.Next, err = s.searchPage(ctx, q.AccountID(), f, in)
	}
	if pe, ok := payment.AsError(err); ok && (pe.Kind == payment.KindInvalid || pe.Kind == payment.KindNotFound) {
		// A search this page cannot run (an unknown status, a cursor of
		// no payment): say so on the page, with a 4xx.
		pp.Error, pp.Field = pe.Message, pe.Param
		status := http.StatusUnprocessableEntity
		if pe.Kind == payment.KindNotFound {
			status = http.StatusNotFound
		}
		return s.render(w, r, q, status, "payments", "payments", pp)
	}
	if err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusOK, "payments", "payments", pp)
}

// searchPage runs f and returns the page with the URL of the next one,
// which keeps the search's parameters.
func (s *Server) searchPage(ctx context.Context, accountID string, f payment.PaymentFilter, in url.Values) ([]*payment.Payment, string, error) {
	list, more, err := s.eng.Payments(ctx, accountID, f)
	if err != nil || !more || len(list) == 0 {
		return list, "", err
	}
	next := url.Values{"starting_after": {list[len(list)-1].ID}}
	for _, k := range searchFields {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			next.Set(k, v)
		}
	}
	return list, Base + "/payments?" + next.Encode(), nil
}

// searchFilter turns the search form into the store's filter; an error
// names the field it refuses.
func searchFilter(pp *paymentsPage) (payment.PaymentFilter, error) {
	f := payment.PaymentFilter{Status: payment.Status(pp.Status), GatewayID: pp.Gateway, CardLast4: pp.Last4,
		CardFingerprint: pp.Fingerprint, CustomerID: pp.Customer}
	if strings.HasPrefix(pp.Query, payment.PrefixPayment+"_") {
		f.ID = pp.Query
	} else {
		f.Reference = pp.Query
	}
	var err error
	if f.AmountMin, err = minorUnits("amount_min", pp.AmountMin); err != nil {
		return f, err
	}
	if f.AmountMax, err = minorUnits("amount_max", pp.AmountMax); err != nil {
		return f, err
	}
	if f.CreatedFrom, err = day("created_from", pp.CreatedFrom); err != nil {
		return f, err
	}
	to, err := day("created_to", pp.CreatedTo)
	if err != nil {
		return f, err
	}
	if !to.IsZero() {
		f.CreatedBefore = to.AddDate(0, 0, 1) // the whole day
		if !f.CreatedFrom.IsZero() && to.Before(f.CreatedFrom) {
			return f, payment.Invalid(payment.CodeParameterInvalid, "created_to", "created_to must not be before created_from.")
		}
	}
	return f, nil
}

// minorUnits reads an amount filter: a whole number of minor units, or
// "" for no bound.
func minorUnits(field, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 || v > payment.MaxAmount || !allDigits(s) {
		return 0, payment.Invalid(payment.CodeParameterInvalid, field, "%s must be a positive whole number of minor units (1250 is 12.50 NOK).", field)
	}
	return v, nil
}

// day reads a date filter, YYYY-MM-DD in UTC, or "" for no bound.
func day(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Year() < 2000 || t.Year() > 9000 {
		return time.Time{}, payment.Invalid(payment.CodeParameterInvalid, field, "%s must be a date like 2026-12-01.", field)
	}
	return t, nil
}
