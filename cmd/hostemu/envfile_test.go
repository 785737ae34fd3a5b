package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadEnvFile(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		content string
		want    map[string]string
		wantErr string
	}{
		"dotenv": {
			content: "# settings\nGDAP_COMMANDS_QUEUE=gdap-commands\n\nexport A = \"quoted value\"\nB='x=y'\nEMPTY=\n",
			want:    map[string]string{"GDAP_COMMANDS_QUEUE": "gdap-commands", "A": "quoted value", "B": "x=y", "EMPTY": ""},
		},
		"local.settings.json": {
			content: `{"IsEncrypted":false,"Values":{"FUNCTIONS_WORKER_RUNTIME":"custom","N":3,"B":true,"Z":null}}`,
			want:    map[string]string{"FUNCTIONS_WORKER_RUNTIME": "custom", "N": "3", "B": "true", "Z": ""},
		},
		"bad line":  {content: "JUSTAKEY\n", wantErr: "line 1: want KEY=VALUE"},
		"bad json":  {content: `{"Values":`, wantErr: "local.settings.json"},
		"empty key": {content: "=v\n", wantErr: "line 1"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "settings")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
			got, err := readEnvFile(path)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
