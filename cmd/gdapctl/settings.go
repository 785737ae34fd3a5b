package main

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

// devConfigRelPath is where `make dev` writes its settings, relative to
// the repository root; gdapctl looks for it from the working directory up.
const devConfigRelPath = ".gdapdev/gdapctl.env"

// Setting names (environment variables and keys of the settings file).
const (
	envConfig                 = "GDAPCTL_CONFIG"
	envBrokerURL              = "GDAPCTL_BROKER_URL"
	envDevFeedURL             = "GDAPCTL_DEV_FEED_URL"
	envServiceBusNamespace    = "GDAPCTL_SERVICEBUS_NAMESPACE"
	envSubscription           = "GDAPCTL_SUBSCRIPTION"
	envTablesEndpoint         = "GDAPCTL_TABLES_ENDPOINT"
	envTablesConnectionString = "GDAPCTL_TABLES_CONNECTION_STRING"
	envTablePrefix            = "GDAPCTL_TABLE_PREFIX"
	envCommandsQueue          = "GDAPCTL_COMMANDS_QUEUE"
	envEventsTopic            = "GDAPCTL_EVENTS_TOPIC"
	envOutput                 = "GDAPCTL_OUTPUT"
)

// settings is where gdapctl sends commands and reads events and tables.
// Each value comes from its flag, else its environment variable, else the
// settings file, else its default.
type settings struct {
	// BrokerURL is the local broker (make dev); set, it wins over Service Bus.
	BrokerURL string
	// DevFeedURL is the dev stack's event feed and clock.
	DevFeedURL string
	// ServiceBusNamespace is the fully qualified namespace (x.servicebus.windows.net).
	ServiceBusNamespace string
	// Subscription is the events topic subscription --wait reads (Azure).
	Subscription string
	// TablesEndpoint (https://account.table.core.windows.net) or
	// TablesConnectionString (Azurite) locate Table Storage.
	TablesEndpoint         string
	TablesConnectionString string
	// TablePrefix prefixes the service's table names. Default "gdap".
	TablePrefix string
	// CommandsQueue and EventsTopic name the entities. Defaults
	// gdap-commands and gdap-events.
	CommandsQueue string
	EventsTopic   string
	// Output is table or json.
	Output string
	// ConfigFile is the settings file used ("" none).
	ConfigFile string
}

// settingFlag binds one setting to a flag and an environment variable.
type settingFlag struct {
	name, env, def, usage string
	dst                   *string
}

func (s *settings) flags() []settingFlag {
	return []settingFlag{
		{"broker-url", envBrokerURL, "", "local broker URL (make dev); when set, commands go there instead of Service Bus", &s.BrokerURL},
		{"dev-feed-url", envDevFeedURL, "", "make dev's event feed URL (events and virtual clock)", &s.DevFeedURL},
		{"servicebus-namespace", envServiceBusNamespace, "", "Service Bus namespace, e.g. sb-gdap-prod.servicebus.windows.net", &s.ServiceBusNamespace},
		{"subscription", envSubscription, "", "events topic subscription that send --wait reads (Azure; messages are consumed, use one dedicated to gdapctl)", &s.Subscription},
		{"tables-endpoint", envTablesEndpoint, "", "Table Storage endpoint, e.g. https://stgdap.table.core.windows.net", &s.TablesEndpoint},
		{"tables-connection-string", envTablesConnectionString, "", "Table Storage connection string (Azurite)", &s.TablesConnectionString},
		{"table-prefix", envTablePrefix, "gdap", "prefix of the service's table names (GDAP_TABLE_PREFIX)", &s.TablePrefix},
		{"commands-queue", envCommandsQueue, "gdap-commands", "commands queue", &s.CommandsQueue},
		{"events-topic", envEventsTopic, "gdap-events", "events topic", &s.EventsTopic},
		{"output", envOutput, "table", "output format: table or json", &s.Output},
	}
}

// register adds the settings' flags to fs.
func (s *settings) register(fs *pflag.FlagSet) {
	for _, f := range s.flags() {
		fs.StringVar(f.dst, f.name, "", f.usage+" (env "+f.env+defaultNote(f.def)+")")
	}
	fs.StringVar(&s.ConfigFile, "config", "", "settings file of KEY=VALUE lines (env "+envConfig+"; default: "+devConfigRelPath+" in this or a parent folder, written by make dev)")
}

func defaultNote(def string) string {
	if def == "" {
		return ""
	}
	return "; default " + def
}

// resolve fills unset values from the environment, the settings file and
// the defaults. lookup is os.LookupEnv in main; wd the working directory.
func (s *settings) resolve(fs *pflag.FlagSet, lookup func(string) (string, bool), wd string) error {
	file := s.ConfigFile
	explicit := file != ""
	if !explicit {
		if v, ok := lookup(envConfig); ok && v != "" {
			file, explicit = v, true
		}
	}
	if !explicit {
		file = findUp(wd, devConfigRelPath)
	}
	fileVals := map[string]string{}
	if file != "" {
		vals, err := readSettingsFile(file)
		if err != nil {
			if explicit || !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("settings file: %w", err)
			}
		} else {
			fileVals = vals
			s.ConfigFile = file
		}
	}
	for _, f := range s.flags() {
		if fs.Changed(f.name) {
			continue
		}
		env, _ := lookup(f.env)
		*f.dst = cmp.Or(env, fileVals[f.env], f.def)
	}
	if s.Output != "table" && s.Output != "json" {
		return usageErrorf("--output must be table or json, got %q", s.Output)
	}
	return nil
}

// findUp returns dir/rel or the same path in the nearest parent that has
// it, or "".
func findUp(dir, rel string) string {
	for dir != "" {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
	return ""
}

// readSettingsFile reads KEY=VALUE lines; blank lines and lines starting
// with # are ignored.
func readSettingsFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected KEY=VALUE", path, n)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, sc.Err()
}

// describe says where gdapctl talks to, for error messages.
func (s *settings) describe() string {
	if s.BrokerURL != "" {
		return "the local stack (make dev)"
	}
	return "Azure"
}
