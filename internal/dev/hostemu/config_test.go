package hostemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/vclock"
)

func TestStartConfigErrors(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		hostJSON  string
		functions map[string]string
		env       func(map[string]string)
		opts      func(*Options)
		want      string
	}{
		"missing queue setting": {env: func(e map[string]string) { delete(e, "GDAP_COMMANDS_QUEUE") }, want: "%GDAP_COMMANDS_QUEUE% does not resolve"},
		"missing schedule":      {env: func(e map[string]string) { delete(e, "GDAP_SWEEP_SCHEDULE") }, want: "%GDAP_SWEEP_SCHEDULE% does not resolve"},
		"5-field schedule":      {env: func(e map[string]string) { e["GDAP_SWEEP_SCHEDULE"] = "*/5 * * * *" }, want: "expected exactly 6 fields"},
		"no clock":              {opts: func(o *Options) { o.Clock = nil }, want: "Clock: required"},
		"bad functionTimeout":   {hostJSON: strings.Replace(defaultHostJSON, `"00:10:00"`, `"ten minutes"`, 1), want: "functionTimeout"},
		"wrong version":         {hostJSON: strings.Replace(defaultHostJSON, `"2.0"`, `"1.0"`, 1), want: "host.json version"},
		"no custom handler":     {hostJSON: `{"version":"2.0"}`, want: "defaultExecutablePath: required"},
		"missing executable":    {opts: func(o *Options) { o.HandlerPath = "/nonexistent/handler" }, want: "HandlerPath"},
		"same queue twice": {
			functions: map[string]string{"again": `{"bindings":[{"name":"message","type":"serviceBusTrigger","direction":"in","queueName":"gdap-commands","dataType":"binary"}]}`},
			want:      "already consumed",
		},
		"http trigger with a function key": {
			functions: map[string]string{"web": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in"}]}`},
			want:      `authLevel "" not supported (only anonymous)`,
		},
		"http trigger without output": {
			functions: map[string]string{"web": `{"bindings":[{"name":"req","type":"httpTrigger","direction":"in","authLevel":"anonymous"}]}`},
			want:      `no http output binding`,
		},
		"invalid function name": {
			functions: map[string]string{"9lives": `{"bindings":[{"name":"timer","type":"timerTrigger","direction":"in","schedule":"0 * * * * *"}]}`},
			want:      "invalid function name",
		},
		"topic trigger": {
			functions: map[string]string{"sub": `{"bindings":[{"name":"m","type":"serviceBusTrigger","direction":"in","topicName":"t","subscriptionName":"s"}]}`},
			want:      "only queueName triggers",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			root := writeScriptRoot(t, setupConfig{hostJSON: tc.hostJSON, functions: tc.functions})
			env := testEnv(t)
			if tc.env != nil {
				tc.env(env)
			}
			opts := Options{ScriptRoot: root, Env: env, Clock: vclock.NewFrozen(t0)}
			if tc.opts != nil {
				tc.opts(&opts)
			}
			_, err := Start(t.Context(), opts)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestNoFunctions(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "host.json"), []byte(defaultHostJSON), 0o600))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "functions", "empty"), 0o700))
	_, err := Start(t.Context(), Options{ScriptRoot: root, Clock: vclock.NewFrozen(t0)})
	require.ErrorContains(t, err, "no function.json")
}

func TestParseTimeSpan(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"00:10:00":    10 * time.Minute,
		"-1":          0,
		"1.02:00:00":  26 * time.Hour,
		"00:00:01.5":  1500 * time.Millisecond,
		"12:00:00":    12 * time.Hour,
		"00:00:00":    -1,
		"10:00":       -1,
		"00:61:00":    -1,
		"x.00:01:00":  -1,
		"00:00:-1":    -1,
		"ten minutes": -1,
	} {
		got, err := parseTimeSpan(in)
		if want < 0 {
			require.Error(t, err, in)
			continue
		}
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
}

func TestResolveSettings(t *testing.T) {
	t.Parallel()
	env := map[string]string{"A": "alpha", "B": ""}
	for in, want := range map[string]string{
		"%A%":       "alpha",
		"x-%A%-%B%": "x-alpha-",
		"plain":     "plain",
	} {
		got, err := resolveSettings(in, env)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := resolveSettings("%MISSING%", env)
	require.ErrorContains(t, err, "%MISSING% does not resolve to a value")
}
