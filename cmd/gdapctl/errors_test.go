package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/require"
)

func responseError(status int, code string) error {
	req := httptest.NewRequest(http.MethodGet, "https://st.table.core.windows.net/gdapoperations()", nil)
	return &azcore.ResponseError{StatusCode: status, ErrorCode: code, RawResponse: &http.Response{StatusCode: status, Request: req}}
}

func TestExplainNamesTheRole(t *testing.T) {
	t.Parallel()
	tables := resource{what: "table gdapoperations", where: "https://st.table.core.windows.net", role: "Storage Table Data Reader on the storage account"}
	tests := []struct {
		name string
		err  error
		res  resource
		want string
	}{
		{"forbidden", responseError(http.StatusForbidden, "AuthorizationPermissionMismatch"), tables,
			`cannot use table gdapoperations at https://st.table.core.windows.net: access denied (HTTP 403 AuthorizationPermissionMismatch); your identity needs the role "Storage Table Data Reader on the storage account"`},
		{"no table", responseError(http.StatusNotFound, "TableNotFound"), tables, "the table does not exist (check --table-prefix"},
		{"unreachable local", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
			resource{what: "the local broker", where: "http://127.0.0.1:1", local: true}, "is `make dev` running?"},
		{"unreachable azure", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no such host")}, tables, "(network, firewall or name)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := explain(tt.err, tt.res)
			require.ErrorContains(t, err, tt.want)
			require.ErrorIs(t, err, tt.err)
			require.Equal(t, exitError, exitCodeOf(err))
		})
	}
	require.NoError(t, explain(nil, tables))
}
