package gateway

import (
	"strings"
	"unicode/utf8"
)

// The JSON member scanner finds what the pattern
//
//	"((?:[^"\\]|\\.){1,128})"\s*:\s*("(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+\-]*)
//
// finds with regexp's FindAll — a member name of 1 to 128 characters (an
// escape counts as one), then a string or a number — at the same places,
// without the regexp engine: that engine was a tenth of kassa's CPU per
// purchase, scrubbing the simulator's bodies. The match is decided at each
// '"' without backtracking (no character can both continue a name or a
// string and end it), so one pass left to right is the same search;
// FuzzJSONMembersAsRegexp checks it against the pattern itself.

// maxMemberName is the most characters a member name may have.
const maxMemberName = 128

// jsonMember is one match: whole, name (without its quotes) and value, as
// offsets into the scanned text.
type jsonMember struct {
	start, end           int
	nameStart, nameEnd   int
	valueStart, valueEnd int
}

// jsonMembers returns the matches in s, in order, none overlapping.
func jsonMembers(s string) []jsonMember {
	var out []jsonMember
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '"')
		if j < 0 {
			break
		}
		start := i + j
		if m, ok := jsonMemberAt(s, start); ok {
			out = append(out, m)
			i = m.end
			continue
		}
		i = start + 1
	}
	return out
}

// jsonMemberAt matches at s[start], which is '"'.
func jsonMemberAt(s string, start int) (jsonMember, bool) {
	m := jsonMember{start: start, nameStart: start + 1}
	i, n := start+1, 0
	for {
		if i >= len(s) {
			return m, false
		}
		c := s[i]
		if c == '"' {
			break
		}
		if n == maxMemberName {
			return m, false
		}
		w, ok := unitWidth(s, i)
		if !ok {
			return m, false
		}
		i += w
		n++
	}
	if n == 0 {
		return m, false
	}
	m.nameEnd = i
	i = skipSpace(s, i+1)
	if i >= len(s) || s[i] != ':' {
		return m, false
	}
	i = skipSpace(s, i+1)
	if i >= len(s) {
		return m, false
	}
	m.valueStart = i
	switch c := s[i]; {
	case c == '"':
		i++
		for {
			if i >= len(s) {
				return m, false
			}
			if s[i] == '"' {
				i++
				break
			}
			w, ok := unitWidth(s, i)
			if !ok {
				return m, false
			}
			i += w
		}
	case c == '-' || isASCIIDigit(c):
		if c == '-' {
			i++
			if i >= len(s) || !isASCIIDigit(s[i]) {
				return m, false
			}
		}
		for i++; i < len(s) && isNumberByte(s[i]); i++ {
		}
	default:
		return m, false
	}
	m.valueEnd, m.end = i, i
	return m, true
}

// unitWidth is the width of the character or escape at s[i], which is not
// '"': a backslash and the character after it (any but a newline), or
// one character (an invalid byte counts as one, as the regexp engine
// reads it). ok is false for a backslash with nothing it may escape.
func unitWidth(s string, i int) (int, bool) {
	if s[i] == '\\' {
		if i+1 >= len(s) || s[i+1] == '\n' {
			return 0, false
		}
		return 1 + runeWidth(s, i+1), true
	}
	return runeWidth(s, i), true
}

func runeWidth(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 1
	}
	_, w := utf8.DecodeRuneInString(s[i:])
	return w
}

// skipSpace skips what the pattern's \s matches: tab, newline, form feed,
// carriage return and space.
func skipSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case '\t', '\n', '\f', '\r', ' ':
			i++
		default:
			return i
		}
	}
	return i
}

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

func isNumberByte(c byte) bool {
	return isASCIIDigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}
