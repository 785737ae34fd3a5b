package invoke

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/webhook"
)

// recordingReceiver answers every delivery with resp and records it.
type recordingReceiver struct {
	got  []webhook.Request
	resp webhook.Response
}

func (r *recordingReceiver) Handle(_ context.Context, _ op.Invocation, req webhook.Request) webhook.Response {
	r.got = append(r.got, req)
	return r.resp
}

// TestWebhookRoute: the golden HTTP invocation reaches the receiver with
// the exact body and headers; its answer goes back as Outputs.res with the
// host answered 200.
func TestWebhookRoute(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join("..", "hostwire", "testdata", "http", "invocation-webhook.json"))
	require.NoError(t, err)
	opts := Options{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Timeout: time.Minute}
	tests := []struct {
		name     string
		body     string
		receiver *recordingReceiver
		status   int
	}{
		{"delivered", string(raw), &recordingReceiver{resp: webhook.Response{Status: http.StatusUnauthorized, Body: "signature_mismatch"}}, http.StatusUnauthorized},
		{"no receiver", string(raw), nil, http.StatusServiceUnavailable},
		{"no request", `{"Data":{},"Metadata":{}}`, &recordingReceiver{}, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts
			if tc.receiver != nil {
				o.Webhook = tc.receiver
			}
			rec := httptest.NewRecorder()
			New(o).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/"+FunctionPartnerCenterWebhook, strings.NewReader(tc.body)))
			require.Equal(t, http.StatusOK, rec.Code, "the host always gets 200")
			var out struct {
				Outputs map[string]struct {
					StatusCode int    `json:"statusCode"`
					Body       string `json:"body"`
				}
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			require.Equal(t, tc.status, out.Outputs["res"].StatusCode)
			if tc.status == http.StatusUnauthorized {
				require.Len(t, tc.receiver.got, 1)
				require.True(t, strings.HasPrefix(string(tc.receiver.got[0].Body), "{\n    \"EventName\""))
				require.Equal(t, []string{"rsa-sha256"}, tc.receiver.got[0].Headers["X-MS-Signature-Algorithm"])
			}
		})
	}
}
