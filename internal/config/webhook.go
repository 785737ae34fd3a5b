package config

import (
	"crypto/x509"
	"net"
	"strings"
)

// DefaultWebhookCertHosts is GDAP_WEBHOOK_CERT_HOSTS's default: where
// Partner Center publishes its webhook signing certificate
// (docs/platform/partner-center-webhooks.md).
const DefaultWebhookCertHosts = "3psostorageacct.blob.core.windows.net"

// Webhook settings.
const (
	SettingWebhookCertHosts = "GDAP_WEBHOOK_CERT_HOSTS"
	SettingDevWebhookRoots  = "GDAP_DEV_WEBHOOK_ROOTS"
)

// Webhook is the configuration of the partner-center-webhook function.
type Webhook struct {
	// CertHosts are the hosts (host or host:port, lower case) an
	// X-MS-Certificate-Url may name; the URL must be https.
	CertHosts []string
	// DevRoots, local development only, are PEM certificates trusted as
	// roots instead of the system's (a simulator's test CA); refused
	// unless every upstream URL is loopback.
	DevRoots []byte
}

// loadWebhook reads the webhook settings; loopback tells whether every
// upstream URL is loopback.
func (r *reader) loadWebhook(loopback bool) Webhook {
	var w Webhook
	for _, h := range splitList(r.str(SettingWebhookCertHosts, DefaultWebhookCertHosts)) {
		host := h
		if hh, port, err := net.SplitHostPort(h); err == nil {
			host = hh
			if !portRE.MatchString(port) {
				r.fail(SettingWebhookCertHosts, "must list host names (host or host:port), got %q", h)
				continue
			}
		}
		if host == "" || strings.ContainsAny(host, "/:@?#") {
			r.fail(SettingWebhookCertHosts, "must list host names (host or host:port) without scheme or path, got %q", h)
			continue
		}
		w.CertHosts = append(w.CertHosts, strings.ToLower(h))
	}
	if len(w.CertHosts) == 0 {
		r.fail(SettingWebhookCertHosts, "must name at least one host")
	}
	if pem := r.str(SettingDevWebhookRoots, ""); pem != "" {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(pem)) {
			r.fail(SettingDevWebhookRoots, "must hold PEM certificates")
		}
		if !loopback {
			r.fail(SettingDevWebhookRoots, "is refused unless every upstream URL is loopback")
		}
		w.DevRoots = []byte(pem)
	}
	return w
}
