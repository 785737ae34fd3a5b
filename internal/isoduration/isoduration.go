// Package isoduration parses and formats ISO 8601 durations of the form
// P[nY][nM][nW][nD][T[nH][nM][n[.f]S]], the shape Graph uses for a GDAP
// relationship's duration and autoExtendDuration.
//
// The parser is strict: upper-case designators only, components in order and
// at most once each, no sign, a fraction only on seconds (with '.' and at
// least one digit on both sides), at least one component, and a 'T' must be
// followed by at least one time component. Component values are limited to
// MaxComponent so that arithmetic on them can never overflow.
package isoduration

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// MaxComponent is the largest value accepted for any single component.
const MaxComponent = 999_999_999

// maxFractionDigits bounds the digits after the decimal point of seconds.
const maxFractionDigits = 9

// ErrInvalid is the identity of every parse failure; a *ParseError wraps it.
var ErrInvalid = errors.New("invalid ISO 8601 duration")

// ParseError describes why Parse rejected its input.
type ParseError struct {
	// Input is the string given to Parse.
	Input string
	// Reason is a short human-readable explanation.
	Reason string
}

// Error implements error.
func (e *ParseError) Error() string {
	return "invalid ISO 8601 duration " + strconv.Quote(e.Input) + ": " + e.Reason
}

// Unwrap returns ErrInvalid so that errors.Is(err, ErrInvalid) holds.
func (e *ParseError) Unwrap() error { return ErrInvalid }

// Duration is a parsed ISO 8601 duration. All fields are non-negative; only
// Seconds can be fractional. Calendar components (Years, Months) are kept as
// written: their length in days is a convention (see WholeDays).
type Duration struct {
	Years   int
	Months  int
	Weeks   int
	Days    int
	Hours   int
	Minutes int
	Seconds float64
}

// designator order within the date part and the time part.
const (
	dateDesignators = "YMWD"
	timeDesignators = "HMS"
)

// Parse parses s strictly as P[nY][nM][nW][nD][T[nH][nM][n[.f]S]].
// "P" alone, "PT", negative values, lower-case designators, out-of-order or
// repeated components and values above MaxComponent are errors.
func Parse(s string) (Duration, error) {
	var d Duration
	fail := func(reason string) (Duration, error) {
		return Duration{}, &ParseError{Input: s, Reason: reason}
	}
	if s == "" {
		return fail("empty")
	}
	if s[0] != 'P' {
		return fail("must start with 'P'")
	}
	rest := s[1:]
	components := 0
	inTime := false
	timeComponents := 0
	next := 0 // index into the current designator list: components must come in order
	for len(rest) > 0 {
		if rest[0] == 'T' {
			if inTime {
				return fail("repeated 'T'")
			}
			inTime = true
			next = 0
			rest = rest[1:]
			if rest == "" {
				return fail("'T' must be followed by a time component")
			}
			continue
		}
		// number: digits [ '.' digits ]
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 {
			return fail("expected a number at " + strconv.Quote(rest))
		}
		intPart := rest[:i]
		frac := ""
		if i < len(rest) && rest[i] == '.' {
			j := i + 1
			for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
				j++
			}
			if j == i+1 {
				return fail("a decimal point must be followed by digits")
			}
			frac = rest[i+1 : j]
			if len(frac) > maxFractionDigits {
				return fail("too many fraction digits")
			}
			i = j
		}
		if i >= len(rest) {
			return fail("number without designator")
		}
		des := rest[i]
		rest = rest[i+1:]

		list := dateDesignators
		if inTime {
			list = timeDesignators
		}
		pos := strings.IndexByte(list[next:], des)
		if pos < 0 {
			if strings.IndexByte(list, des) >= 0 {
				return fail("component '" + string(des) + "' repeated or out of order")
			}
			if inTime {
				return fail("unexpected designator " + strconv.QuoteRune(rune(des)) + " in time part")
			}
			return fail("unexpected designator " + strconv.QuoteRune(rune(des)) + " in date part")
		}
		next += pos + 1

		if frac != "" && !(inTime && des == 'S') {
			return fail("only seconds may have a fraction")
		}
		n, err := parseComponent(intPart)
		if err != nil {
			return fail(err.Error())
		}
		components++
		if inTime {
			timeComponents++
		}
		switch {
		case !inTime && des == 'Y':
			d.Years = n
		case !inTime && des == 'M':
			d.Months = n
		case !inTime && des == 'W':
			d.Weeks = n
		case !inTime && des == 'D':
			d.Days = n
		case inTime && des == 'H':
			d.Hours = n
		case inTime && des == 'M':
			d.Minutes = n
		case inTime && des == 'S':
			sec := float64(n)
			if frac != "" {
				f, err := strconv.ParseFloat(strconv.Itoa(n)+"."+frac, 64)
				if err != nil || f > MaxComponent { // e.g. 999999999.9999999999 rounds up
					return fail("component too large")
				}
				sec = f
			}
			d.Seconds = sec
		}
	}
	if components == 0 {
		return fail("no components")
	}
	if inTime && timeComponents == 0 {
		return fail("'T' must be followed by a time component")
	}
	return d, nil
}

// parseComponent parses an unsigned decimal integer of at most MaxComponent,
// accepting leading zeros.
func parseComponent(digits string) (int, error) {
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		return 0, nil
	}
	if len(digits) > len(strconv.Itoa(MaxComponent)) {
		return 0, errors.New("component too large")
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > MaxComponent {
		return 0, errors.New("component too large")
	}
	return n, nil
}

// WholeDays returns the duration as a whole number of days, counting a year
// as 365 days and a week as 7. Hours, minutes and seconds are allowed only if
// together they add up to whole days (PT24H is 1, PT36H is not). A Months
// component makes the length ambiguous, so any non-zero Months, or time parts
// that are not whole days, give ok=false.
func (d Duration) WholeDays() (days int, ok bool) {
	if d.Months != 0 {
		return 0, false
	}
	if d.Seconds != math.Trunc(d.Seconds) || d.Seconds < 0 || math.IsInf(d.Seconds, 0) || math.IsNaN(d.Seconds) {
		return 0, false
	}
	if d.Years < 0 || d.Weeks < 0 || d.Days < 0 || d.Hours < 0 || d.Minutes < 0 {
		return 0, false
	}
	if d.Years > MaxComponent || d.Weeks > MaxComponent || d.Days > MaxComponent ||
		d.Hours > MaxComponent || d.Minutes > MaxComponent || d.Seconds > MaxComponent {
		return 0, false
	}
	// With every component ≤ MaxComponent (< 2^30) none of these overflow int64.
	secs := int64(d.Hours)*3600 + int64(d.Minutes)*60 + int64(d.Seconds)
	if secs%86400 != 0 {
		return 0, false
	}
	total := int64(d.Years)*365 + int64(d.Weeks)*7 + int64(d.Days) + secs/86400
	if total > math.MaxInt {
		return 0, false
	}
	return int(total), true
}

// IsZero reports whether every component is zero (P0D, PT0S, P0Y0M, ...).
func (d Duration) IsZero() bool {
	return d == Duration{}
}

// String returns the canonical form: the non-zero components in order, no
// leading zeros, seconds with the shortest exact fraction, and "PT0S" for the
// zero duration. Parse(d.String()) returns d for any parsed d.
func (d Duration) String() string {
	if d.IsZero() {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteByte('P')
	write := func(n int, des byte) {
		if n != 0 {
			b.WriteString(strconv.Itoa(n))
			b.WriteByte(des)
		}
	}
	write(d.Years, 'Y')
	write(d.Months, 'M')
	write(d.Weeks, 'W')
	write(d.Days, 'D')
	if d.Hours != 0 || d.Minutes != 0 || d.Seconds != 0 {
		b.WriteByte('T')
		write(d.Hours, 'H')
		write(d.Minutes, 'M')
		if d.Seconds != 0 {
			b.WriteString(strconv.FormatFloat(d.Seconds, 'f', -1, 64))
			b.WriteByte('S')
		}
	}
	return b.String()
}
