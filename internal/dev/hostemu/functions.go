package hostemu

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/robfig/cron/v3"
)

// Trigger kinds of a function.
const (
	triggerServiceBus = "serviceBusTrigger"
	triggerTimer      = "timerTrigger"
	triggerHTTP       = "httpTrigger"
)

// function is one discovered function folder.
type function struct {
	name    string // folder name, also the POST path
	trigger string // triggerServiceBus or triggerTimer
	binding string // trigger binding name (Data key)

	// Service Bus trigger.
	queue  string // resolved queue name
	binary bool   // dataType binary (else the body is double-encoded text)

	// Timer trigger.
	schedule     cron.Schedule
	useMonitor   bool
	runOnStartup bool

	// HTTP trigger (http.go).
	methods []string // upper case; empty: any
	route   string   // path under the route prefix
	httpOut string   // name of the http output binding
}

type functionJSON struct {
	Bindings []bindingJSON `json:"bindings"`
}

type bindingJSON struct {
	Name         string   `json:"name"`
	Type         string   `json:"type"`
	Direction    string   `json:"direction"`
	QueueName    string   `json:"queueName"`
	TopicName    string   `json:"topicName"`
	DataType     string   `json:"dataType"`
	Cardinality  string   `json:"cardinality"`
	IsSessions   bool     `json:"isSessionsEnabled"`
	Schedule     string   `json:"schedule"`
	UseMonitor   *bool    `json:"useMonitor"`
	RunOnStartup bool     `json:"runOnStartup"`
	AuthLevel    string   `json:"authLevel"`
	Methods      []string `json:"methods"`
	Route        string   `json:"route"`
}

// functionNameExpr is the host's FunctionNameValidationRegex.
var functionNameExpr = regexp.MustCompile(`(?i)^[a-z][a-z0-9_\-]{0,127}$`) //nolint:gochecknoglobals // compiled once

// ncrontab parses the host's 6-field NCRONTAB expressions.
var ncrontab = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow) //nolint:gochecknoglobals // stateless parser

// discoverFunctions finds function folders directly under root (packaged
// layout) and under root/functions (repository layout).
func discoverFunctions(root string, env map[string]string) ([]*function, error) {
	seen := map[string]string{}
	var fns []*function
	for _, dir := range []string{root, filepath.Join(root, "functions")} {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) && dir != root {
			continue
		}
		if err != nil {
			return nil, &ConfigError{Field: "ScriptRoot", Err: err}
		}
		for _, ent := range entries {
			if !ent.IsDir() {
				continue
			}
			path := filepath.Join(dir, ent.Name(), "function.json")
			raw, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue // not a function directory, skipped like the host does
			}
			if err != nil {
				return nil, &ConfigError{Field: path, Err: err}
			}
			name := ent.Name()
			if !functionNameExpr.MatchString(name) || strings.EqualFold(name, "host") {
				return nil, &ConfigError{Field: path, Err: fmt.Errorf("invalid function name %q", name)}
			}
			if prev, dup := seen[strings.ToLower(name)]; dup {
				return nil, &ConfigError{Field: path, Err: fmt.Errorf("function %q already defined in %s", name, prev)}
			}
			seen[strings.ToLower(name)] = path
			fn, err := parseFunction(name, raw, env)
			if err != nil {
				return nil, &ConfigError{Field: path, Err: err}
			}
			fns = append(fns, fn)
		}
	}
	if len(fns) == 0 {
		return nil, &ConfigError{Field: "ScriptRoot", Err: fmt.Errorf("no function.json under %s", root)}
	}
	sort.Slice(fns, func(i, j int) bool { return fns[i].name < fns[j].name })
	return fns, nil
}

func parseFunction(name string, raw []byte, env map[string]string) (*function, error) {
	var fj functionJSON
	if err := json.Unmarshal(raw, &fj); err != nil {
		return nil, err
	}
	var trig *bindingJSON
	for i, b := range fj.Bindings {
		if strings.HasSuffix(strings.ToLower(b.Type), "trigger") {
			if trig != nil {
				return nil, errors.New("more than one trigger binding")
			}
			trig = &fj.Bindings[i]
		}
	}
	if trig == nil {
		return nil, errors.New("no trigger binding")
	}
	if trig.Name == "" || trig.Direction != "in" {
		return nil, errors.New("trigger binding needs a name and direction \"in\"")
	}
	fn := &function{name: name, trigger: trig.Type, binding: trig.Name}
	switch trig.Type {
	case triggerServiceBus:
		if trig.QueueName == "" {
			return nil, errors.New("serviceBusTrigger: only queueName triggers are supported")
		}
		if strings.EqualFold(trig.Cardinality, "many") || trig.IsSessions {
			return nil, errors.New("serviceBusTrigger: cardinality many and sessions are not supported")
		}
		q, err := resolveSettings(trig.QueueName, env)
		if err != nil {
			return nil, fmt.Errorf("queueName: %w", err)
		}
		if q == "" {
			return nil, errors.New("queueName resolves to an empty name")
		}
		switch strings.ToLower(trig.DataType) {
		case "binary":
			fn.binary = true
		case "", "string":
		default:
			return nil, fmt.Errorf("serviceBusTrigger: dataType %q not supported", trig.DataType)
		}
		fn.queue = q
	case triggerTimer:
		expr, err := resolveSettings(trig.Schedule, env)
		if err != nil {
			return nil, fmt.Errorf("schedule: %w", err)
		}
		sched, err := ncrontab.Parse(expr)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %w", expr, err)
		}
		fn.schedule = sched
		fn.useMonitor = trig.UseMonitor == nil || *trig.UseMonitor
		fn.runOnStartup = trig.RunOnStartup
	case triggerHTTP:
		if err := parseHTTPTrigger(fn, trig, fj.Bindings); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("trigger type %q not supported", trig.Type)
	}
	return fn, nil
}
