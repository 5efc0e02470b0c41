package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kassapay/kassa/client"
	"github.com/kassapay/kassa/internal/failpoint"
)

// TestCrashMidBatch: SQLite's group committer runs several callers' writes
// in one transaction and answers them only once it has committed. Killed
// between a batch's writes and its commit, kassa must lose exactly the
// work it had not answered: every purchase answered before the kill is
// stored as it was answered, and every unanswered one, retried with its
// Idempotency-Key after a restart, ends as one payment whose gateway call
// the simulator's durable ledger counts at most once (and exactly once if
// it succeeded).
func TestCrashMidBatch(t *testing.T) {
	bin := buildFailpointBinary(t)
	dataDir := t.TempDir()
	fp := failpoint.BeforeCommit + ":batch"
	first := startChild(t, bin, dataDir, "", fp+failpoint.OnSignal)
	s := newCrashSetup(t, first, dataDir, "", "purchase")
	url, body := s.request(first.URL, "purchase")

	var mu sync.Mutex
	answers := map[string]answer{} // by Idempotency-Key
	for i := range 10 {
		k := fmt.Sprintf("before-%d", i)
		a := post(url, s.key, k, body)
		if a.status != http.StatusCreated {
			t.Fatalf("purchase %s before the crash: %d %s", k, a.status, a.body)
		}
		answers[k] = a
	}

	// Keep 16 clients buying; once the batches mix reservations, the
	// simulator's ledger and settles, arm the point: the committer stops
	// in front of the next commit of several units.
	var wg sync.WaitGroup
	done := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(answers)
	}
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				k := fmt.Sprintf("during-%d-%d", w, i)
				a := post(url, s.key, k, body)
				mu.Lock()
				answers[k] = a
				mu.Unlock()
				if a.status == 0 {
					return // kassa died under it
				}
			}
		})
	}
	waitFor(t, "purchases under load", func() bool { return done() >= 200 })
	if err := first.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	first.waitFailpoint(t, fp)
	if !strings.Contains(first.Stderr.String(), "FAILPOINT "+failpoint.BeforeCommit+" batch") {
		t.Fatalf("stopped at the wrong commit:\n%s", first.Stderr)
	}
	// Nothing may be answered while the batch waits for its commit; give
	// an answer sent too early the time to reach its client, so that the
	// checks below see it.
	time.Sleep(300 * time.Millisecond)
	first.kill()
	wg.Wait()

	var answered, unanswered []string
	for k, a := range answers {
		switch a.status {
		case http.StatusCreated:
			answered = append(answered, k)
		case 0:
			unanswered = append(unanswered, k)
		default:
			t.Fatalf("purchase %s answered %d: %s", k, a.status, a.body)
		}
	}
	if len(unanswered) < 2 {
		t.Fatalf("%d requests were in flight at the kill; a batch needs at least 2", len(unanswered))
	}
	t.Logf("%d purchases answered before the kill, %d in flight", len(answered), len(unanswered))

	second := startChild(t, bin, dataDir, "", "")
	url, _ = s.request(second.URL, "purchase")
	cl := client.New(second.URL, s.key)
	ctx := context.Background()

	// What was answered is stored as it was answered, at once: not
	// recovered later by the reconciler (which waits for --stale-after).
	for _, k := range answered {
		was := answers[k].payment(t)
		now, err := cl.Payment(ctx, was.ID)
		if err != nil {
			t.Fatalf("payment %s answered before the kill (key %s): %v", was.ID, k, err)
		}
		if now.Status != was.Status || now.AmountCaptured != was.AmountCaptured {
			t.Errorf("payment %s answered %s/%d, stored %s/%d", was.ID, was.Status, was.AmountCaptured, now.Status, now.AmountCaptured)
		}
	}
	// What was not answered ends, retried, as one payment each.
	for _, k := range unanswered {
		a := retryUntilAnswered(t, url, s.key, k, body)
		if a.status != http.StatusCreated && a.status != http.StatusOK {
			t.Fatalf("retry of %s: %d %s", k, a.status, a.body)
		}
		answers[k] = a
	}

	// One payment per key, and the simulator called once at most for each.
	var all []*client.Payment
	params := &client.PaymentListParams{ListParams: client.ListParams{Limit: 100}}
	for {
		page, err := cl.ListPayments(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Data...)
		if !page.HasMore {
			break
		}
		params.StartingAfter = page.Data[len(page.Data)-1].ID
	}
	if len(all) != len(answers) {
		t.Fatalf("%d payments for %d keys", len(all), len(answers))
	}
	calls := map[string]int{}
	for _, op := range simulatorLedger(t, dataDir, "", s.gateway) {
		calls[op.Reference] += op.Calls
	}
	for _, p := range all {
		stored, err := cl.Payment(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored.Operations) != 1 {
			t.Fatalf("payment %s has %d operations", p.ID, len(stored.Operations))
		}
		op := stored.Operations[0]
		want := 0
		switch op.Outcome {
		case "succeeded":
			want = 1
		case "not_sent":
		default:
			t.Errorf("payment %s: operation %s", p.ID, op.Outcome)
		}
		if calls[op.ID] != want {
			t.Errorf("payment %s (%s): the simulator got %d calls, want %d", p.ID, op.Outcome, calls[op.ID], want)
		}
		if stored.AmountCaptured > stored.AmountAuthorized {
			t.Errorf("invariant broken: %+v", stored)
		}
	}
}
