package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func testRootPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test root"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestLoadWebhook(t *testing.T) {
	t.Parallel()
	root := testRootPEM(t)
	tests := []struct {
		name    string
		set     map[string]string
		hosts   []string
		roots   bool
		failsOn string
	}{
		{name: "default host", hosts: []string{DefaultWebhookCertHosts}},
		{name: "hosts with ports", set: map[string]string{SettingWebhookCertHosts: "A.example.com, 127.0.0.1:8443"}, hosts: []string{"a.example.com", "127.0.0.1:8443"}},
		{name: "scheme", set: map[string]string{SettingWebhookCertHosts: "https://a.example.com"}, failsOn: SettingWebhookCertHosts},
		{name: "path", set: map[string]string{SettingWebhookCertHosts: "a.example.com/cert"}, failsOn: SettingWebhookCertHosts},
		{name: "loopback roots", set: map[string]string{SettingDevWebhookRoots: root}, hosts: []string{DefaultWebhookCertHosts}, roots: true},
		{name: "roots not PEM", set: map[string]string{SettingDevWebhookRoots: "x"}, failsOn: SettingDevWebhookRoots},
		{name: "roots with a remote upstream", set: map[string]string{SettingDevWebhookRoots: root, SettingGraphBaseURL: "https://graph.microsoft.com/beta"}, failsOn: SettingDevWebhookRoots},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := loadLoopback(tc.set)
			if tc.failsOn != "" {
				require.ErrorContains(t, err, tc.failsOn)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.hosts, c.Webhook.CertHosts)
			require.Equal(t, tc.roots, c.Webhook.DevRoots != nil)
		})
	}
}
