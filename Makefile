# kassa — common tasks. `make test` is what CI runs (see .ci/run).
GO ?= go
STATICCHECK ?= staticcheck

.PHONY: run test lint bench build fuzz crash

run:
	$(GO) run ./cmd/kassa serve

build:
	$(GO) build -o bin/kassa ./cmd/kassa

# PostgreSQL tests run when KASSA_TEST_DATABASE_URL is set, e.g.
#   KASSA_TEST_DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' make test
# Tests that cannot find a service they need (PostgreSQL, stripe-mock, the
# npm clients) skip; make test lists them, loudly, at its end.
test:
	@log=$$(mktemp); KASSA_SKIP_LOG=$$log $(GO) test -race -count=1 -timeout 20m ./...; status=$$?; \
	if [ -s $$log ]; then \
		echo; echo "*** $$(wc -l < $$log) tests SKIPPED: they need services this machine lacks (.ci/run installs them):"; \
		sort $$log | uniq -c | sed 's/^/  /'; \
	fi; rm -f $$log; exit $$status

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@command -v $(STATICCHECK) >/dev/null || { echo "staticcheck is missing: go install honnef.co/go/tools/cmd/staticcheck@v0.8.2"; exit 1; }
	$(STATICCHECK) ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

# Short runs of every fuzz target (longer runs: FUZZTIME=5m make fuzz).
FUZZTIME ?= 10s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; $(GO) test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# The kill -9 suite and its fault-injection variant, long: KILLS kills per
# store each (CI runs 10 and 5 within make test); STALL is how long the HTTP
# simulator stalls an answer (default twice the suite's 1 s call timeout).
# PostgreSQL runs too when KASSA_TEST_DATABASE_URL is set.
KILLS ?= 200
STALL ?=
crash:
	KASSA_KILLS=$(KILLS) KASSA_STALL=$(STALL) $(GO) test -count=1 -timeout 3h -run '^TestKillSuite(Faults)?$$' -v ./cmd/kassa/
