package pcsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Webhook paths Partner Center serves (docs/platform/partner-center-webhooks.md).
const (
	webhookRegistrationPath = "/webhooks/v1/registration"
	webhookValidationPath   = "/webhooks/v1/registration/validationEvents"
)

// RouteWebhooks is the fault route of the webhook registration API.
const RouteWebhooks Route = "webhooks"

// WebhookRegistration is a partner's registration.
type WebhookRegistration struct {
	SubscriberID  string   `json:"SubscriberId,omitempty"`
	WebhookURL    string   `json:"WebhookUrl"`
	WebhookEvents []string `json:"WebhookEvents"`
}

// WebhookEvent is a delivery body.
type WebhookEvent struct {
	EventName             string  `json:"EventName"`
	ResourceURI           string  `json:"ResourceUri"`
	ResourceName          string  `json:"ResourceName"`
	AuditURI              *string `json:"AuditUri"`
	ResourceChangeUtcDate string  `json:"ResourceChangeUtcDate"`
}

// RelationshipEvent builds a granular-admin-relationship-* event for relID
// at at, in Partner Center's format.
func RelationshipEvent(name, relID string, at time.Time) WebhookEvent {
	return WebhookEvent{
		EventName: name, ResourceURI: "https://api.partnercenter.microsoft.com/v1/granularAdminRelationships/" + relID,
		ResourceName: "GranularAdminRelationship", ResourceChangeUtcDate: at.UTC().Format("2006-01-02T15:04:05.0000000+00:00"),
	}
}

// webhookState is the simulator's webhook side.
type webhookState struct {
	reg        *WebhookRegistration
	validation map[string]map[string]any
	pki        *WebhookPKI
	host       *CertificateHost
}

// EnableWebhooks makes the simulator sign deliveries with pki and starts
// its certificate host, which the caller must close.
func (s *Sim) EnableWebhooks(pki *WebhookPKI) *CertificateHost {
	host := pki.StartCertificateHost()
	s.mu.Lock()
	s.hooks.pki, s.hooks.host = pki, host
	s.mu.Unlock()
	return host
}

// SetRegistration sets the registration as a POST would.
func (s *Sim) SetRegistration(r WebhookRegistration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.SubscriberID = newGUID()
	s.hooks.reg = &r
}

// Registration returns the current registration, if any.
func (s *Sim) Registration() (WebhookRegistration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hooks.reg == nil {
		return WebhookRegistration{}, false
	}
	r := *s.hooks.reg
	r.WebhookEvents = append([]string(nil), r.WebhookEvents...)
	return r, true
}

// serveWebhooks answers the registration API (App+User or app-only tokens).
func (s *Sim) serveWebhooks(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.authorizePC(w, r) {
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == webhookRegistrationPath && r.Method == http.MethodGet:
		reg, ok := s.Registration()
		if !ok {
			writePCError(w, http.StatusNotFound, "NotFound", "No webhook registration exists.")
			return
		}
		writeJSON(w, http.StatusOK, reg)
	case path == webhookRegistrationPath && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		var in WebhookRegistration
		if err := json.Unmarshal(body, &in); err != nil || !strings.HasPrefix(in.WebhookURL, "http") || len(in.WebhookEvents) == 0 {
			writePCError(w, http.StatusBadRequest, "BadRequest", "WebhookUrl and WebhookEvents are required.")
			return
		}
		s.mu.Lock()
		exists := s.hooks.reg != nil
		if exists == (r.Method == http.MethodPost) {
			s.mu.Unlock()
			if exists {
				writePCError(w, http.StatusConflict, "Conflict", "A webhook registration already exists; use PUT.")
			} else {
				writePCError(w, http.StatusNotFound, "NotFound", "No webhook registration exists; use POST.")
			}
			return
		}
		in.SubscriberID = newGUID()
		s.hooks.reg = &in
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, in)
	case path == webhookValidationPath && r.Method == http.MethodPost:
		reg, ok := s.Registration()
		if !ok {
			writePCError(w, http.StatusNotFound, "NotFound", "No webhook registration exists.")
			return
		}
		corr := newGUID()
		ev := WebhookEvent{EventName: "test-created", ResourceName: "test",
			ResourceURI:           "https://api.partnercenter.microsoft.com/webhooks/v1/registration/validationEvents/" + corr,
			ResourceChangeUtcDate: s.opts.Clock.Now().UTC().Format("2006-01-02T15:04:05.0000000+00:00")}
		status, err := s.Deliver(r.Context(), Delivery{URL: reg.WebhookURL, Event: ev})
		result := map[string]any{"responseCode": http.StatusText(status), "systemError": err != nil,
			"dateTimeUtc": s.opts.Clock.Now().UTC().Format("2006-01-02T15:04:05.0000000")}
		if err != nil {
			result["responseMessage"] = err.Error()
		}
		s.mu.Lock()
		if s.hooks.validation == nil {
			s.hooks.validation = map[string]map[string]any{}
		}
		s.hooks.validation[corr] = map[string]any{"correlationId": corr, "status": "completed",
			"callbackUrl": reg.WebhookURL, "results": []any{result}}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]string{"correlationId": corr})
	case strings.HasPrefix(path, webhookValidationPath+"/") && r.Method == http.MethodGet:
		s.mu.Lock()
		v, ok := s.hooks.validation[strings.TrimPrefix(path, webhookValidationPath+"/")]
		s.mu.Unlock()
		if !ok {
			writePCError(w, http.StatusNotFound, "NotFound", "Unknown validation event.")
			return
		}
		writeJSON(w, http.StatusOK, v)
	default:
		writePCError(w, http.StatusNotFound, "NotFound", "Unknown webhook resource.")
	}
}

// Delivery is one webhook POST. Zero fields take the genuine values; the
// others forge one part of it.
type Delivery struct {
	// URL is where to POST; default the registered WebhookUrl.
	URL string
	// Event is marshalled as the body unless Body is set.
	Event WebhookEvent
	// Body, when set, is sent as is (and signed, unless Signature is set).
	Body []byte
	// CertificateURL overrides X-MS-Certificate-Url (default: the signing
	// certificate on the certificate host). A path alone is resolved
	// against the certificate host.
	CertificateURL string
	// Algorithm overrides X-MS-Signature-Algorithm (default rsa-sha256).
	Algorithm string
	// Signature overrides the base64 signature.
	Signature string
	// Forge signs a different body than the one sent.
	Forge bool
}

// Deliver POSTs d signed as Partner Center does and returns the status.
func (s *Sim) Deliver(ctx context.Context, d Delivery) (int, error) {
	s.mu.Lock()
	pki, host, reg := s.hooks.pki, s.hooks.host, s.hooks.reg
	s.mu.Unlock()
	if pki == nil {
		return 0, fmt.Errorf("pcsim: webhooks are not enabled (EnableWebhooks)")
	}
	if d.URL == "" {
		if reg == nil {
			return 0, fmt.Errorf("pcsim: no webhook registration")
		}
		d.URL = reg.WebhookURL
	}
	body := d.Body
	if body == nil {
		var err error
		if body, err = json.Marshal(d.Event); err != nil {
			return 0, err
		}
	}
	sig := d.Signature
	if sig == "" {
		signed := body
		if d.Forge {
			signed = append(append([]byte(nil), body...), ' ')
		}
		sig = pki.Sign(signed)
	}
	cert := d.CertificateURL
	switch {
	case cert == "":
		cert = host.URL + SigningCertPath
	case strings.HasPrefix(cert, "/"):
		cert = host.URL + cert
	}
	alg := d.Algorithm
	if alg == "" {
		alg = "rsa-sha256"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Signature "+sig)
	req.Header.Set("X-MS-Certificate-Url", cert)
	req.Header.Set("X-MS-Signature-Algorithm", alg)
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
