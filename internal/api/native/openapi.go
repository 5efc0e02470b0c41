package native

import (
	_ "embed"
	"net/http"
)

// openAPIDocument is the API's OpenAPI 3.1 description, written by hand and
// served as it is.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *server) openAPI(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPIDocument)
	return nil
}
