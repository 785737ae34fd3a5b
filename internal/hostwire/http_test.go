package hostwire

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGoldenHTTPInvocation(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("testdata", "http", "invocation-webhook.json"))
	require.NoError(t, err)
	inv, err := Decode(raw)
	require.NoError(t, err)
	req, err := inv.HTTPRequest("req")
	require.NoError(t, err)
	require.Equal(t, "POST", req.Method)
	require.Equal(t, "https://gdapflow-func.azurewebsites.net/api/partner-center-webhook", req.URL)
	require.True(t, req.HasBody)
	require.Contains(t, string(req.Body), "\n    \"EventName\": \"test-created\",\n", "the body arrives byte for byte")
	require.Equal(t, "rsa-sha256", req.Header("x-ms-signature-algorithm"))
	require.Equal(t, []string{"application/json"}, req.Headers["Content-Type"])
	now, ok := inv.UtcNow()
	require.True(t, ok)
	require.Equal(t, 2017, now.Year())
}

func TestHTTPRequestForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data string
		body string
		has  bool
		code string
	}{
		{"no body", `{"req":{"Method":"POST","Headers":{"A":["1"]}}}`, "", false, ""},
		{"single-string header", `{"req":{"Method":"POST","Headers":{"A":"1"},"Body":"x"}}`, "x", true, ""},
		{"octet-stream is base64", `{"req":{"Method":"POST","Headers":{"Content-Type":["application/octet-stream"]},"Body":"AAE="}}`, "\x00\x01", true, ""},
		{"double-encoded object", `{"req":"{\"Method\":\"POST\",\"Body\":\"y\"}"}`, "y", true, ""},
		{"missing", `{}`, "", false, CodeMissingBinding},
		{"array", `{"req":[]}`, "", false, CodeInvalidBinding},
		{"numeric body", `{"req":{"Body":1}}`, "", false, CodeInvalidBinding},
		{"bad headers", `{"req":{"Headers":{"A":1}}}`, "", false, CodeInvalidBinding},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			inv, err := Decode([]byte(`{"Data":` + tc.data + `,"Metadata":{}}`))
			require.NoError(t, err)
			req, err := inv.HTTPRequest("req")
			if tc.code != "" {
				require.True(t, HasCode(err, tc.code), "%v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.has, req.HasBody)
			require.Equal(t, tc.body, string(req.Body))
		})
	}
}

func TestGoldenHTTPResponse(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(filepath.Join("testdata", "http", "response-401.json"))
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	WriteHTTPResponse(rec, "res", HTTPResponse{StatusCode: http.StatusUnauthorized,
		Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "signature_mismatch"}, nil)
	require.Equal(t, http.StatusOK, rec.Code, "the host fails the invocation on a non-2xx answer")
	require.JSONEq(t, string(want), rec.Body.String())
}
