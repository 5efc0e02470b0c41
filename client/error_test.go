package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/kassapay/kassa/client"
)

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ex         exchange
		want       client.Error
		msg        string // Error()
		notFound   bool
		conflict   bool
		unauthoriz bool
	}{
		{
			name: "not found",
			ex: exchange{status: 404, respHeader: map[string]string{"X-Request-Id": "req_404"},
				resp: `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_method: 'pm_x'","param":"id"}}`},
			want:     client.Error{StatusCode: 404, Type: "invalid_request_error", Code: client.CodeResourceMissing, Message: "No such payment_method: 'pm_x'", Param: "id", RequestID: "req_404"},
			msg:      "kassa: 404 resource_missing (id): No such payment_method: 'pm_x' [request req_404]",
			notFound: true,
		},
		{
			name: "invalid field, no param or request id",
			ex: exchange{status: 422,
				resp: `{"error":{"type":"card_error","code":"invalid_expiry_month","message":"The expiry month is invalid.","param":"card.exp_month","extra":1}}`},
			want: client.Error{StatusCode: 422, Type: "card_error", Code: client.CodeInvalidExpiryMonth, Message: "The expiry month is invalid.", Param: "card.exp_month"},
			msg:  "kassa: 422 invalid_expiry_month (card.exp_month): The expiry month is invalid.",
		},
		{
			name:     "idempotency key in use",
			ex:       exchange{status: 409, resp: `{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"A request with this key is in progress.","param":null}}`},
			want:     client.Error{StatusCode: 409, Type: "idempotency_error", Code: client.CodeIdempotencyKeyInUse, Message: "A request with this key is in progress."},
			msg:      "kassa: 409 idempotency_key_in_use: A request with this key is in progress.",
			conflict: true,
		},
		{
			name:       "unauthorized",
			ex:         exchange{status: 401, resp: `{"error":{"type":"authentication_error","code":"invalid_api_key","message":"Invalid API key provided."}}`},
			want:       client.Error{StatusCode: 401, Type: "authentication_error", Code: client.CodeInvalidAPIKey, Message: "Invalid API key provided."},
			msg:        "kassa: 401 invalid_api_key: Invalid API key provided.",
			unauthoriz: true,
		},
		{
			// A proxy's page is not quoted: it might echo the request.
			name: "not the API's error object",
			ex: exchange{status: 502, respHeader: map[string]string{"Content-Type": "text/html", "X-Request-Id": "req_502"},
				resp: "<html>Bad gateway. Your request: Authorization: Bearer " + testKey + "</html>"},
			want: client.Error{StatusCode: 502, Message: "Bad Gateway", RequestID: "req_502"},
			msg:  "kassa: 502: Bad Gateway [request req_502]",
		},
		{
			name: "JSON without an error object",
			ex:   exchange{status: 500, resp: `{"message":"oops"}`},
			want: client.Error{StatusCode: 500, Message: "Internal Server Error"},
			msg:  "kassa: 500: Internal Server Error",
		},
		{
			name:     "empty body",
			ex:       exchange{status: 404},
			want:     client.Error{StatusCode: 404, Message: "Not Found"},
			msg:      "kassa: 404: Not Found",
			notFound: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ex := tt.ex
			ex.method, ex.uri = "GET", "/v1/payment_methods/pm_x"
			c := newClient(t, ex)
			_, err := c.PaymentMethod(t.Context(), "pm_x")
			wrapped := fmt.Errorf("charge order: %w", err)
			var e *client.Error
			if !errors.As(wrapped, &e) {
				t.Fatalf("err = %#v, want an *Error", err)
			}
			if *e != tt.want {
				t.Errorf("got  %+v\nwant %+v", *e, tt.want)
			}
			if got := e.Error(); got != tt.msg {
				t.Errorf("Error() = %q\nwant      %q", got, tt.msg)
			}
			noLeak(t, "error", err.Error())
			if client.IsNotFound(wrapped) != tt.notFound || client.IsConflict(wrapped) != tt.conflict ||
				client.IsUnauthorized(wrapped) != tt.unauthoriz {
				t.Errorf("IsNotFound, IsConflict, IsUnauthorized = %v, %v, %v", client.IsNotFound(wrapped),
					client.IsConflict(wrapped), client.IsUnauthorized(wrapped))
			}
		})
	}
}

func TestIsNotFoundOtherErrors(t *testing.T) {
	t.Parallel()
	for _, err := range []error{nil, errors.New("404"), &client.Error{StatusCode: 410}} {
		if client.IsNotFound(err) {
			t.Errorf("IsNotFound(%v) = true", err)
		}
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	c := client.New(srv.URL, testKey)
	_, err := c.CreatePaymentMethod(t.Context(), &client.PaymentMethodParams{
		Card: &client.CardParams{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2030, CVC: "123"}})
	if err == nil {
		t.Fatal("no error")
	}
	var e *client.Error
	if errors.As(err, &e) {
		t.Errorf("a transport failure is an *Error: %v", err)
	}
	noLeak(t, "error", err.Error())

	// A 2xx answer the client cannot read.
	c = newClient(t, exchange{method: "GET", uri: "/v1/account", respHeader: map[string]string{"X-Request-Id": "req_7"}, resp: `<html>`})
	_, err = c.Account(t.Context())
	if err == nil || errors.As(err, &e) {
		t.Fatalf("err = %v, want a decoding error", err)
	}
	if got, want := err.Error(), "kassa: GET /v1/account: decode response (status 200, request req_7): invalid character '<' looking for beginning of value"; got != want {
		t.Errorf("err = %q\nwant  %q", got, want)
	}

	// A base URL that is no URL fails before sending anything.
	if _, err := client.New("://nope", testKey).Account(t.Context()); err == nil {
		t.Error("bad base URL: no error")
	} else {
		noLeak(t, "error", err.Error())
	}
}
