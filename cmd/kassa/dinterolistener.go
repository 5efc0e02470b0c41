package main

import (
	"net/http"

	"github.com/kassapay/kassa/internal/web"
)

// dinteroListener is the handler of --dintero-addr: the Dintero dialect at
// /v1, and the hosted page as Dintero's own host serves it, so that the
// listener's origin can be both the API base URL and the web SDK's
// endpoint. The SDK's paths at the root (/?sid=…, /v1/view/{sid},
// /embedResult/, /sessions/{sid}) are the page's Dintero paths below
// /checkout/dintero; the page's own links, forms and assets (/checkout/…)
// are served as they are. No API route begins with /checkout/, /embedResult
// or /sessions/, and /v1/view/ is no API route.
func dinteroListener(dinteroAPI, page http.Handler) http.Handler {
	toPage := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = web.DinteroBase+r.URL.Path, ""
		page.ServeHTTP(w, r2)
	})
	mux := http.NewServeMux()
	mux.Handle("/checkout/", page)
	mux.Handle("GET /{$}", toPage)
	mux.Handle("GET /v1/view/{sid}", toPage)
	mux.Handle("GET /embedResult/{$}", toPage)
	mux.Handle("GET /sessions/{sid}", toPage)
	mux.Handle("/", dinteroAPI)
	return mux
}
