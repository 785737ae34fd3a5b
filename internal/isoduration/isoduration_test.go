package isoduration

import (
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in        string
		want      Duration
		canonical string
		days      int
		daysOK    bool
	}{
		{"P1D", Duration{Days: 1}, "P1D", 1, true},
		{"P730D", Duration{Days: 730}, "P730D", 730, true},
		{"P2Y", Duration{Years: 2}, "P2Y", 730, true},
		{"P180D", Duration{Days: 180}, "P180D", 180, true},
		{"P0D", Duration{}, "PT0S", 0, true},
		{"PT0S", Duration{}, "PT0S", 0, true},
		{"P1W", Duration{Weeks: 1}, "P1W", 7, true},
		{"P1Y2W3D", Duration{Years: 1, Weeks: 2, Days: 3}, "P1Y2W3D", 382, true},
		{"PT24H", Duration{Hours: 24}, "PT24H", 1, true},
		{"PT1440M", Duration{Minutes: 1440}, "PT1440M", 1, true},
		{"PT86400S", Duration{Seconds: 86400}, "PT86400S", 1, true},
		{"P1DT12H", Duration{Days: 1, Hours: 12}, "P1DT12H", 0, false},
		{"P1DT23H60M", Duration{Days: 1, Hours: 23, Minutes: 60}, "P1DT23H60M", 2, true},
		{"PT36H", Duration{Hours: 36}, "PT36H", 0, false},
		{"P1M", Duration{Months: 1}, "P1M", 0, false},
		{"P0M1D", Duration{Days: 1}, "P1D", 1, true},
		{"PT1M", Duration{Minutes: 1}, "PT1M", 0, false},
		{"PT1.5S", Duration{Seconds: 1.5}, "PT1.5S", 0, false},
		{"PT86400.000S", Duration{Seconds: 86400}, "PT86400S", 1, true},
		{"PT0.000000001S", Duration{Seconds: 1e-9}, "PT0.000000001S", 0, false},
		{"P01D", Duration{Days: 1}, "P1D", 1, true},
		{"P1Y2M3W4DT5H6M7.25S", Duration{1, 2, 3, 4, 5, 6, 7.25}, "P1Y2M3W4DT5H6M7.25S", 0, false},
		{"P999999999D", Duration{Days: 999999999}, "P999999999D", 999999999, true},
		{"P999999999Y", Duration{Years: 999999999}, "P999999999Y", 999999999 * 365, true},
		{"P0000000000000000000001D", Duration{Days: 1}, "P1D", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.in)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.canonical, got.String())
			days, ok := got.WholeDays()
			require.Equal(t, tt.daysOK, ok)
			if ok {
				require.Equal(t, tt.days, days)
			}
			again, err := Parse(got.String())
			require.NoError(t, err)
			require.Equal(t, got, again)
		})
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []string{
		"", "P", "PT", "T1H", "1D", "p1d", "P1d", "-P1D", "P-1D", "+P1D", "P+1D",
		"P1DT", "PT1D", "P1H", "P1S", "P1D1Y", "P1D1D", "PT1S1M", "PT1H1H", "P1DTT1H",
		"PT1H T1M", "P 1D", "P1D ", " P1D", "P1.5D", "P1,5D", "PT1,5S", "PT.5S", "PT1.S",
		"PT1.5H", "P1", "PD", "PTS", "P1000000000D", "P99999999999999999999999D",
		"PT999999999.9999999999S", "PT0.0000000001S", "P1DX", "P１D", "P1D\x00", "P1E3D",
		"P0x10D", "P1Y1M1W1D1D", "PT1H1M1S1S", "P1W1Y",
	}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(in)
			require.Error(t, err)
			require.ErrorIs(t, err, ErrInvalid)
			var pe *ParseError
			require.True(t, errors.As(err, &pe))
			require.Equal(t, in, pe.Input)
			require.NotEmpty(t, pe.Reason)
		})
	}
}

func TestWholeDaysHandBuilt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		d    Duration
		days int
		ok   bool
	}{
		{"zero", Duration{}, 0, true},
		{"negative", Duration{Days: -1}, 0, false},
		{"nan", Duration{Seconds: math.NaN()}, 0, false},
		{"inf", Duration{Seconds: math.Inf(1)}, 0, false},
		{"huge", Duration{Years: math.MaxInt}, 0, false},
		{"mixed", Duration{Weeks: 1, Hours: 48}, 9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			days, ok := tt.d.WholeDays()
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.days, days)
		})
	}
}

func TestIsZero(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"P0D", "PT0S", "P0Y0M0W0DT0H0M0.0S", "PT0H"} {
		d, err := Parse(in)
		require.NoError(t, err)
		require.True(t, d.IsZero(), in)
	}
	d, err := Parse("PT0.5S")
	require.NoError(t, err)
	require.False(t, d.IsZero())
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"P1D", "P2Y", "PT24H", "P1Y2M3W4DT5H6M7.25S", "PT0S", "P", "PT", "-P1D", "P1.5D", "PT0.000000001S"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalid)
			require.Equal(t, Duration{}, d)
			return
		}
		// Every accepted duration has a canonical form that parses back to it.
		c := d.String()
		again, err := Parse(c)
		require.NoError(t, err, "canonical %q of %q", c, s)
		require.Equal(t, d, again)
		require.Equal(t, c, again.String())
		days, ok := d.WholeDays()
		if ok {
			require.GreaterOrEqual(t, days, 0)
		}
		require.Equal(t, d.IsZero(), c == "PT0S")
	})
}
