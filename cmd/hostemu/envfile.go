package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// readEnvFile reads app settings from a file of KEY=VALUE lines (blank lines
// and # comments ignored, optional "export " and surrounding quotes
// stripped) or from a local.settings.json ({"Values": {...}}).
func readEnvFile(path string) (map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' {
		return parseLocalSettings(trimmed)
	}
	return parseDotEnv(raw)
}

func parseLocalSettings(raw []byte) (map[string]string, error) {
	var ls struct {
		Values map[string]any `json:"Values"`
	}
	if err := json.Unmarshal(raw, &ls); err != nil {
		return nil, fmt.Errorf("local.settings.json: %w", err)
	}
	env := make(map[string]string, len(ls.Values))
	for k, v := range ls.Values {
		switch v := v.(type) {
		case string:
			env[k] = v
		case nil:
			env[k] = ""
		default:
			b, _ := json.Marshal(v)
			env[k] = string(b)
		}
	}
	return env, nil
}

func parseDotEnv(raw []byte) (map[string]string, error) {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: want KEY=VALUE", n)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env, sc.Err()
}
