package gateway

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// memberRE is the pattern jsonMembers stands in for: the scrubber's regexp
// before the scanner replaced it.
var memberRE = regexp.MustCompile(`"((?:[^"\\]|\\.){1,128})"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+\-]*)`)

// memberIndexes is what jsonMembers finds, in FindAllStringSubmatchIndex's
// form.
func memberIndexes(s string) [][]int {
	var out [][]int
	for _, m := range jsonMembers(s) {
		out = append(out, []int{m.start, m.end, m.nameStart, m.nameEnd, m.valueStart, m.valueEnd})
	}
	return out
}

var memberSeeds = []string{
	`{"number":"4111111111111111","cvc":"123","amount":1000}`,
	`{"a":-1.5e+3,"b":"x\"y","c":[1,2],"d":{"e":"f"}}`,
	`{"k" :  "v", "n":-, "m":-x, "o":"unterminated`,
	`"":"empty name" "x":"" ""`,
	`{"esc\\":"v","nl\` + "\n" + `":"v","tab":` + "\t\"v\"}",
	`"` + strings.Repeat("a", 128) + `":"at the limit" "` + strings.Repeat("b", 129) + `":"over it"`,
	`"` + strings.Repeat("é", 128) + `":1 "` + strings.Repeat(`\"`, 128) + `":2`,
	"\"\xff\xfe\":\"\xc3\" \"k\\\xff\":\"v\\\xff\"",
	`"a":"b":"c" "x" : 12ab "y":0.0.0-+eE`,
	`name=value&password=secret`,
	`\"cvc\":\"123\"`,
}

// TestJSONMembersAsRegexp: the scanner finds exactly what the pattern
// finds, on bodies that probe each of its rules.
func TestJSONMembersAsRegexp(t *testing.T) {
	for _, s := range memberSeeds {
		if got, want := memberIndexes(s), memberRE.FindAllStringSubmatchIndex(s, -1); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%q:\n got %v\nwant %v", s, got, want)
		}
	}
}

// FuzzJSONMembersAsRegexp compares the scanner with the pattern on any
// text.
func FuzzJSONMembersAsRegexp(f *testing.F) {
	for _, s := range memberSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := memberIndexes(s), memberRE.FindAllStringSubmatchIndex(s, -1); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%q:\n got %v\nwant %v", s, got, want)
		}
	})
}

// simulatorBody is a body of the size and shape the simulator exchanges.
const simulatorBody = `{"amount":1000,"currency":"EUR","reference":"op_0VcsARkbjIn1A24SbXqbGScl","card":{"number":"4111111111111111","exp_month":12,"exp_year":2030,"cvc":"123","holder":"Ada Lovelace"},"outcome":"succeeded","gateway_reference":"sim_0VcsARkbjIn1A24SbXqbGScl","avs":"Y","cvv":"M"}`

func BenchmarkJSONMembers(b *testing.B) {
	b.Run("scanner", func(b *testing.B) {
		for b.Loop() {
			jsonMembers(simulatorBody)
		}
	})
	b.Run("regexp", func(b *testing.B) {
		for b.Loop() {
			memberRE.FindAllStringSubmatchIndex(simulatorBody, -1)
		}
	})
}
