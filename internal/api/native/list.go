package native

import (
	"net/http"

	"github.com/kassapay/kassa/internal/api"
	"github.com/kassapay/kassa/internal/payment"
)

// listObject is a page of a list.
type listObject[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	URL     string `json:"url"`
}

// listResponse answers 200 with items rendered as a list object; url is the
// list's path, without the query.
func listResponse[T, O any](w http.ResponseWriter, items []T, hasMore bool, render func(T) O, url string) error {
	data := make([]O, len(items))
	for i, it := range items {
		data[i] = render(it)
	}
	return api.JSON(w, http.StatusOK, listObject[O]{Object: "list", Data: data, HasMore: hasMore, URL: url})
}

// listPage answers a paginated list request: it reads limit and
// starting_after, fetches that page and renders it.
func listPage[T, O any](w http.ResponseWriter, r *http.Request, fetch func(payment.ListParams) ([]T, bool, error),
	render func(T) O, url string) error {
	lp, err := api.ParseList(r)
	if err != nil {
		return err
	}
	items, hasMore, err := fetch(lp)
	if err != nil {
		return cursorError(err, lp.StartingAfter)
	}
	return listResponse(w, items, hasMore, render, url)
}

// cursorError keeps a starting_after that does not look like an id out of
// the not-found error the store makes of it: a client may put anything in a
// query string, a card number too.
func cursorError(err error, startingAfter string) error {
	e, ok := payment.AsError(err)
	if !ok || e.Kind != payment.KindNotFound || e.Param != "starting_after" || idShaped(startingAfter) {
		return err
	}
	return &payment.Error{Kind: payment.KindNotFound, Code: payment.CodeResourceMissing, Param: "starting_after",
		Message: "starting_after names no object of this list."}
}

// queryValue returns the query parameter name; given more than once, it is
// a parameter_invalid error rather than a guess at which one was meant.
func queryValue(r *http.Request, name string) (string, error) {
	vals := r.URL.Query()[name]
	switch len(vals) {
	case 0:
		return "", nil
	case 1:
		return vals[0], nil
	}
	return "", payment.Invalid(payment.CodeParameterInvalid, name, "%s may be given only once.", name)
}

// nonNil returns s, or an empty slice for nil, so that JSON shows [] and not
// null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
