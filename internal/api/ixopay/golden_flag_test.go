package ixopay

import "flag"

// update rewrites the golden files under testdata/golden instead of
// comparing with them (go test ./internal/api/ixopay/ -run Golden -update).
// One flag for every golden test of the package.
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")
