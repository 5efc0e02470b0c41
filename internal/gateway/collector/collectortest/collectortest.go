// Package collectortest is a stand-in for Collector's Checkout API that
// knows one store and one credential: enough for tests of the credential
// check, which sends GET /merchants/{store}/checkouts/{id} with a SharedKey
// Authorization header.
package collectortest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/kassapay/kassa/internal/gateway/collector"
)

// Server answers as Collector would for one store: 404 (no such checkout)
// to a request signed with Username and Password for StoreID, 403 to one
// signed rightly for another store, 401 to anything else signed wrongly or
// not at all.
type Server struct {
	*httptest.Server
	Username, Password, StoreID string
	// Requests counts the requests served.
	Requests atomic.Int64
}

// New starts a Server; close it when done.
func New(username, password, storeID string) *Server {
	s := &Server{Username: username, Password: password, StoreID: storeID}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	w.Header().Set("Content-Type", "application/json")
	rest, ok := strings.CutPrefix(r.URL.Path, "/merchants/")
	store, _, _ := strings.Cut(rest, "/")
	if !ok || r.Method != http.MethodGet || !strings.Contains(rest, "/checkouts/") {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":{"code":404,"message":"Not found"}}`))
		return
	}
	if r.Header.Get("Authorization") != collector.SharedKey(s.Username, s.Password, r.URL.Path, nil) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":{"code":401,"message":"Unauthorized"}}`))
		return
	}
	if store != s.StoreID {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":403,"message":"Forbidden"}}`))
		return
	}
	w.WriteHeader(http.StatusNotFound)
	w.Write([]byte(`{"error":{"code":404,"message":"Checkout not found"}}`))
}
