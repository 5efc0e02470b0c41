package card

import "testing"

// simulatorCards is the card table of docs/simulator.md, every row, in its
// order.
var simulatorCards = []string{
	"4111111111111111", "4242424242424242", "4444333322221111455", "5555555555554444",
	"2223003122003222", "378282246310005", "6011111111111117", "30569309025904",
	"3569990010030400", "6759000000000000005", "4000000000000002", "5200000000000007",
	"4012888888881881", "4917610000000000003", "5105105105105100", "2720992720992729",
	"371449635398431", "6011000990139424", "30207712915383", "3528327757705979",
	"6799990100000000019",
	"4000000000009995", "4000000000009987", "4000000000009979", "4100000000000076",
	"4100000000000001", "5100000000000008", "4100000000000019", "5100000000000016",
	"4100000000000027", "5100000000000024", "4100000000000043", "5100000000000040",
}

func TestIsTestCard(t *testing.T) {
	t.Parallel()
	for _, n := range simulatorCards {
		if !IsTestCard(n) {
			t.Errorf("IsTestCard(%s) = false for a simulator card", n)
		}
	}
	for _, n := range []string{
		"4000056655665556", "5555555555554444", "4242424242424242", // Stripe
		"5555341244441115", "370000000000002", "2222400070000005", // Adyen
		"4005519200000004", "4007000000027", "4543474002249996",
	} {
		if !IsTestCard(n) {
			t.Errorf("IsTestCard(%s) = false", n)
		}
	}
	for _, n := range []string{
		"", "4", "4111111111111112", "4111 1111 1111 1111", "4111-1111-1111-1111",
		" 4111111111111111", "41111111111111110", "4539148803436467", // a random valid Visa number
	} {
		if IsTestCard(n) {
			t.Errorf("IsTestCard(%q) = true", n)
		}
	}
}

// TestPublicTestCardsValid guards the list against typos: a number that
// fails Validate cannot reach the live-account check anyway.
func TestPublicTestCardsValid(t *testing.T) {
	t.Parallel()
	if len(publicTestCards) < len(simulatorCards) {
		t.Fatalf("only %d test cards", len(publicTestCards))
	}
	for n := range publicTestCards {
		digits, _, err := Validate(n)
		if err != nil || digits != n {
			t.Errorf("test card %s: Validate = %q, %v", n, digits, err)
		}
	}
}
