// Package failpoint lets crash tests stop kassa at named points of the
// operation protocol, so that a test can kill the process exactly there.
//
// In a normal build Hit does nothing and costs nothing. Built with
// `-tags failpoints`, Hit blocks forever when the environment variable
// KASSA_FAILPOINT names its point — "after_reserve", or
// "after_reserve:capture" for one operation kind only — after writing
// "FAILPOINT <point> <kind>" to standard error, which is the test's cue to
// send SIGKILL.
package failpoint

// The points, in protocol order.
const (
	// AfterReserve: the operation is reserved (and the Idempotency-Key
	// bound), nothing is sent yet.
	AfterReserve = "after_reserve"
	// InCall: the provider (the simulator) has recorded the operation; its
	// answer has not reached kassa.
	InCall = "in_call"
	// AfterCall: kassa has the provider's answer and has not settled it.
	AfterCall = "after_call"
	// AfterSettle: the outcome is settled; the answer is not stored under
	// the Idempotency-Key nor sent.
	AfterSettle = "after_settle"
	// BeforeCommit: the SQLite store's group committer has run a batch
	// of writes and not committed it. Its kind is "batch" when more than
	// one unit of work of the batch is to be committed, else "single".
	BeforeCommit = "before_commit"
	// BeforeComplete: the handler has answered; the answer is not sent,
	// and not stored under the Idempotency-Key unless the settle stored
	// it. Its kind is empty.
	BeforeComplete = "before_complete"
)

// Env names the variable that arms a point.
const Env = "KASSA_FAILPOINT"

// OnSignal, at the end of Env's value, leaves the point unarmed until the
// process gets SIGUSR1 (it then writes "FAILPOINT armed <point>"), so that
// a test can let kassa start and serve before the point stops it.
const OnSignal = "@usr1"
