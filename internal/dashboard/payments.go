package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

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
	Query    string
	Status   string
	Statuses []payment.Status
	Payments []*payment.Payment
	// Next is the URL of the next page, "" on the last.
	Next string
	// Paged is set past the first page.
	Paged bool
	// Error is a search the list could not run (an unknown status).
	Error string
}

// payments lists the account's payments, newest first: q is a payment id
// (pay_…) or a merchant reference, status one of the statuses; paging by
// the store's cursor (starting_after).
func (s *Server) payments(w http.ResponseWriter, r *http.Request, q *request) error {
	ctx := r.Context()
	in := r.URL.Query()
	pp := &paymentsPage{Query: strings.TrimSpace(in.Get("q")), Status: in.Get("status"), Statuses: paymentStatuses,
		Paged: in.Get("starting_after") != ""}
	if len(pp.Query) > 200 {
		pp.Query = pp.Query[:200]
	}
	if strings.HasPrefix(pp.Query, payment.PrefixPayment+"_") {
		p, err := s.eng.Payment(ctx, q.AccountID(), pp.Query)
		switch {
		case err == nil:
			if pp.Status == "" || string(p.Status) == pp.Status {
				pp.Payments = []*payment.Payment{p}
			}
		case !errors.Is(err, payment.ErrNotFound):
			return err
		}
		return s.render(w, r, q, http.StatusOK, "payments", "payments", pp)
	}
	f := payment.PaymentFilter{Status: payment.Status(pp.Status), Reference: pp.Query,
		ListParams: payment.ListParams{Limit: paymentsPageSize, StartingAfter: in.Get("starting_after")}}
	list, more, err := s.eng.Payments(ctx, q.AccountID(), f)
	if pe, ok := payment.AsError(err); ok && (pe.Kind == payment.KindInvalid || pe.Kind == payment.KindNotFound) {
		// A search this page cannot run (an unknown status, a cursor of
		// no payment): say so on the page, with a 4xx.
		pp.Error = pe.Message
		status := http.StatusUnprocessableEntity
		if pe.Kind == payment.KindNotFound {
			status = http.StatusNotFound
		}
		return s.render(w, r, q, status, "payments", "payments", pp)
	}
	if err != nil {
		return err
	}
	pp.Payments = list
	if more && len(list) > 0 {
		next := url.Values{"starting_after": {list[len(list)-1].ID}}
		if pp.Query != "" {
			next.Set("q", pp.Query)
		}
		if pp.Status != "" {
			next.Set("status", pp.Status)
		}
		pp.Next = Base + "/payments?" + next.Encode()
	}
	return s.render(w, r, q, http.StatusOK, "payments", "payments", pp)
}

// payment shows one payment of the account: amounts, status and every
// operation with its outcome and codes.
func (s *Server) payment(w http.ResponseWriter, r *http.Request, q *request) error {
	p, err := s.eng.Payment(r.Context(), q.AccountID(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(w, r, q, http.StatusOK, "payment", "payments", p)
}
