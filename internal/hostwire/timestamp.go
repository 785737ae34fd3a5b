package hostwire

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// layoutsWithZone are tried first; their result keeps the given offset,
// converted to UTC.
var layoutsWithZone = []string{
	time.RFC3339Nano,                      // 2026-03-01T10:15:30.1234567Z, +00:00
	"2006-01-02T15:04:05.999999999Z0700",  // +0000
	"2006-01-02 15:04:05.999999999Z07:00", // space separator
	"2006-01-02T15:04:05.999999999 Z07:00",
	"1/2/2006 3:04:05 PM Z07:00", // .NET DateTimeOffset.ToString() (en-US)
	"1/2/2006 15:04:05 Z07:00",
	time.RFC1123Z,
	time.RFC1123,
}

// layoutsWithoutZone are interpreted as UTC: the host's timestamps are UTC
// values whose "Z" was lost in a DateTime round trip.
var layoutsWithoutZone = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"1/2/2006 3:04:05 PM", // .NET DateTime.ToString() (en-US)
	"1/2/2006 15:04:05",
	"2006-01-02",
}

// ErrTimestamp is the identity of ParseTime failures.
var ErrTimestamp = errors.New("unrecognised timestamp")

// ParseTime parses a timestamp in any layout the Functions host has been seen
// to send: RFC 3339 with or without fraction (up to 9 digits, .NET sends 7),
// with "Z", "+00:00" or "+0000", or with no zone at all (taken as UTC), and
// .NET's invariant/en-US ToString forms. The result is in UTC.
// 0001-01-01T00:00:00 (.NET's DateTime.MinValue) returns the zero time.Time.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return time.Time{}, errors.Join(ErrTimestamp, errors.New("bad length: "+strconv.Quote(truncate(s, 64))))
	}
	for _, l := range layoutsWithZone {
		if t, err := time.Parse(l, s); err == nil {
			return normalize(t), nil
		}
	}
	for _, l := range layoutsWithoutZone {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return normalize(t), nil
		}
	}
	return time.Time{}, errors.Join(ErrTimestamp, errors.New(strconv.Quote(s)))
}

// normalize converts to UTC and maps .NET's DateTime.MinValue to the zero time.
func normalize(t time.Time) time.Time {
	t = t.UTC()
	if t.Year() == 1 && t.YearDay() == 1 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return time.Time{}
	}
	return t
}
