package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCLI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantDone bool
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "no arguments: serve", args: nil},
		{name: "help", args: []string{"--help"}, wantDone: true, wantOut: "Usage:"},
		{name: "short help", args: []string{"-h"}, wantDone: true, wantOut: "handler --version"},
		{name: "version", args: []string{"--version"}, wantDone: true, wantOut: "gdapflow handler "},
		{name: "unknown argument", args: []string{"--serve"}, wantDone: true, wantCode: 2, wantErr: `unknown argument "--serve"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code, done := cli(tt.args, &out, &errOut)
			require.Equal(t, tt.wantDone, done)
			require.Equal(t, tt.wantCode, code)
			require.Contains(t, out.String(), tt.wantOut)
			require.Contains(t, errOut.String(), tt.wantErr)
		})
	}
}

func TestHandlerVersion(t *testing.T) {
	t.Parallel()
	v := handlerVersion()
	require.NotEmpty(t, v)
	require.Contains(t, v, "go1.", "names the Go version it was built with")
}
