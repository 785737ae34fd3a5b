package config

import "regexp"

// DefaultReportRole is GDAP_REPORT_ROLE's default: the app role the report
// page requires (defined on the function app's Entra app registration).
const DefaultReportRole = "GDAP.Report.Read"

// Report settings.
const (
	SettingReportRole         = "GDAP_REPORT_ROLE"
	SettingDevReportPrincipal = "GDAP_DEV_REPORT_PRINCIPAL"
)

// appRoleRE is what Entra accepts as an app role value (no spaces).
var appRoleRE = regexp.MustCompile(`^[A-Za-z0-9!#$%&'()*+,\-./:;<=>?@\[\]^_{|}~]{1,120}$`) //nolint:gochecknoglobals // compiled once

// Report is the configuration of the report function.
type Report struct {
	// Role is the app role a caller's principal must hold.
	Role string
	// DevPrincipal, local development only, accepts the host emulator's
	// stand-in principal; refused unless every upstream URL is loopback.
	DevPrincipal bool
}

// loadReport reads the report settings; loopback tells whether every
// upstream URL is loopback.
func (r *reader) loadReport(loopback bool) Report {
	rep := Report{Role: r.str(SettingReportRole, DefaultReportRole)}
	if !appRoleRE.MatchString(rep.Role) {
		r.fail(SettingReportRole, "must be an app role value (1–120 characters, no spaces), got %q", rep.Role)
	}
	switch v := r.str(SettingDevReportPrincipal, ""); v {
	case "":
	case "true":
		if !loopback {
			r.fail(SettingDevReportPrincipal, "is refused unless every upstream URL is loopback")
		}
		rep.DevPrincipal = true
	default:
		r.fail(SettingDevReportPrincipal, "must be empty or \"true\", got %q", v)
	}
	return rep
}
