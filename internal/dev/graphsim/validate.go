package graphsim

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/isoduration"
)

// Duration bounds of rule 9 (P2Y = 730 days).
const (
	minDurationDays = 1
	maxDurationDays = 730
	autoExtendDays  = 180
	maxDisplayName  = 50
)

// parseDurationDays validates a relationship duration (rule 9) and returns
// it in whole days.
func parseDurationDays(s string) (int, *apiError) {
	d, err := isoduration.Parse(s)
	if err != nil {
		return 0, badRequest("duration '" + s + "' is not a valid ISO 8601 duration.")
	}
	days, ok := d.WholeDays()
	if !ok {
		return 0, badRequest("duration '" + s + "' must be a whole number of days (no months, no partial days).")
	}
	if days < minDurationDays || days > maxDurationDays {
		return 0, badRequest("duration '" + s + "' must be between P1D and P2Y.")
	}
	return days, nil
}

// daysDuration renders a whole-day duration the way the simulator stores it.
func daysDuration(days int) string { return "P" + strconv.Itoa(days) + "D" }

// normalizeAutoExtend validates autoExtendDuration (rule 10) and returns the
// stored value: "P0D", "PT0S" or "P180D"; the SDK's "P" becomes "PT0S" when
// Options.AcceptSDKZeroDuration holds.
func (s *Sim) normalizeAutoExtend(v string) (string, *apiError) {
	switch v {
	case "P0D", "PT0S", gdap.AutoExtendOn:
		return v, nil
	case "P":
		if *s.opts.AcceptSDKZeroDuration {
			return gdap.AutoExtendOff, nil
		}
	}
	return "", badRequest("autoExtendDuration '" + v + "' is not allowed; use PT0S, P0D or P180D.")
}

// validateDisplayName checks rule 7's length limits.
func validateDisplayName(n string) *apiError {
	l := utf8.RuneCountInString(n)
	if l < 1 || l > maxDisplayName || strings.TrimSpace(n) == "" {
		return badRequest("displayName must be 1 to 50 characters.")
	}
	return nil
}

// validateRoles checks rule 7's role list: non-empty, GUIDs, no duplicates.
func validateRoles(roles []string) *apiError {
	if len(roles) == 0 {
		return badRequest("accessDetails.unifiedRoles must contain at least one role.")
	}
	seen := make(map[string]struct{}, len(roles))
	for _, r := range roles {
		if !isGUID(r) {
			return badRequest("roleDefinitionId '" + r + "' is not a GUID.")
		}
		k := strings.ToLower(r)
		if _, dup := seen[k]; dup {
			return badRequest("roleDefinitionId '" + r + "' is listed twice.")
		}
		seen[k] = struct{}{}
	}
	return nil
}

// checkAutoExtendGA enforces rule 11.
func checkAutoExtendGA(autoExtend string, roles []string) *apiError {
	if gdap.IsAutoExtendOn(autoExtend) && gdap.HasRole(roles, gdap.GlobalAdminRoleID) {
		return errorf(400, CodeGlobalAdminAutoExtend,
			"Relationships that include the Global Administrator role cannot be auto-extended.")
	}
	return nil
}

// sameRoles reports whether a and b hold the same roles (order and case
// insensitive).
func sameRoles(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, r := range a {
		if !gdap.HasRole(b, r) {
			return false
		}
	}
	return true
}

// isSubset reports whether every role of sub is in super.
func isSubset(sub, super []string) bool {
	for _, r := range sub {
		if !gdap.HasRole(super, r) {
			return false
		}
	}
	return true
}
