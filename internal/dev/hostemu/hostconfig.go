package hostemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// functionTimeoutDefault is the host's functionTimeout when host.json has
// none (Flex Consumption and dedicated plans; Consumption uses 5 minutes).
const functionTimeoutDefault = 30 * time.Minute

// hostConfig is the part of host.json the emulator acts on.
type hostConfig struct {
	functionTimeout    time.Duration // 0 = unbounded
	executable         string        // defaultExecutablePath as written
	workingDirectory   string        // relative to the script root, "" = root
	arguments          []string
	maxConcurrentCalls int
}

type hostJSON struct {
	Version         string          `json:"version"`
	FunctionTimeout *string         `json:"functionTimeout"`
	CustomHandler   *customHandler  `json:"customHandler"`
	Extensions      *hostExtensions `json:"extensions"`
}

type customHandler struct {
	Description struct {
		DefaultExecutablePath string   `json:"defaultExecutablePath"`
		WorkingDirectory      string   `json:"workingDirectory"`
		Arguments             []string `json:"arguments"`
	} `json:"description"`
}

type hostExtensions struct {
	ServiceBus *struct {
		MaxConcurrentCalls int `json:"maxConcurrentCalls"`
	} `json:"serviceBus"`
}

// loadHostConfig reads <root>/host.json.
func loadHostConfig(root string, env map[string]string) (hostConfig, error) {
	path := filepath.Join(root, "host.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return hostConfig{}, &ConfigError{Field: "host.json", Err: err}
	}
	var hj hostJSON
	if err := json.Unmarshal(raw, &hj); err != nil {
		return hostConfig{}, &ConfigError{Field: "host.json", Err: err}
	}
	if hj.Version != "2.0" {
		return hostConfig{}, &ConfigError{Field: "host.json version", Err: fmt.Errorf("%q, want \"2.0\"", hj.Version)}
	}
	if hj.CustomHandler == nil || hj.CustomHandler.Description.DefaultExecutablePath == "" {
		return hostConfig{}, &ConfigError{Field: "host.json customHandler.description.defaultExecutablePath", Err: errors.New("required")}
	}
	hc := hostConfig{
		functionTimeout:  functionTimeoutDefault,
		executable:       hj.CustomHandler.Description.DefaultExecutablePath,
		workingDirectory: hj.CustomHandler.Description.WorkingDirectory,
	}
	for _, a := range hj.CustomHandler.Description.Arguments {
		v, err := resolveSettings(a, env)
		if err != nil {
			return hostConfig{}, &ConfigError{Field: "host.json customHandler.description.arguments", Err: err}
		}
		hc.arguments = append(hc.arguments, v)
	}
	if hj.FunctionTimeout != nil {
		d, err := parseTimeSpan(*hj.FunctionTimeout)
		if err != nil {
			return hostConfig{}, &ConfigError{Field: "host.json functionTimeout", Err: err}
		}
		hc.functionTimeout = d
	}
	if hj.Extensions != nil && hj.Extensions.ServiceBus != nil {
		hc.maxConcurrentCalls = hj.Extensions.ServiceBus.MaxConcurrentCalls
	}
	return hc, nil
}

// parseTimeSpan parses a .NET TimeSpan as written in host.json
// ("hh:mm:ss", "d.hh:mm:ss", optional fraction); "-1" means unbounded (0).
func parseTimeSpan(s string) (time.Duration, error) {
	if s == "-1" {
		return 0, nil
	}
	days := 0
	rest := s
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		d, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("invalid TimeSpan %q", s)
		}
		days, rest = d, s[i+1:]
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("invalid TimeSpan %q, want hh:mm:ss", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err := errors.Join(err1, err2, err3); err != nil || h < 0 || m < 0 || m > 59 || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("invalid TimeSpan %q", s)
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(sec*float64(time.Second))
	if d <= 0 {
		return 0, fmt.Errorf("invalid TimeSpan %q, must be positive", s)
	}
	return d, nil
}

// settingExpr matches %SETTING% expressions.
var settingExpr = regexp.MustCompile(`%([^%]+)%`) //nolint:gochecknoglobals // compiled once

// resolveSettings replaces each %NAME% in s with env[NAME]; a missing
// setting is an error, as in the host ("does not resolve to a value").
func resolveSettings(s string, env map[string]string) (string, error) {
	var missing []string
	out := settingExpr.ReplaceAllStringFunc(s, func(m string) string {
		name := m[1 : len(m)-1]
		v, ok := env[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%%%s%% does not resolve to a value", missing[0])
	}
	return out, nil
}
