package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/webhook"
)

// buildWebhook returns the Partner Center webhook receiver and makes sure
// its replay table exists. In local development (GDAP_DEV_WEBHOOK_ROOTS)
// the simulator's test CA replaces the system roots, for the certificate
// chain and for the download's TLS.
func buildWebhook(ctx context.Context, cfg config.Config, tables *aztables.ServiceClient, send sender, logger *slog.Logger) *webhook.Receiver {
	vopts := webhook.VerifierOptions{AllowedHosts: cfg.Webhook.CertHosts}
	if len(cfg.Webhook.DevRoots) > 0 {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(cfg.Webhook.DevRoots)
		vopts.Roots = roots
		vopts.Client = &http.Client{Timeout: webhook.DefaultFetchTimeout, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	}
	replays := webhook.NewReplayStore(tables.NewClient(cfg.TablePrefix + "webhooks"))
	ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	if err := replays.EnsureTable(ectx); err != nil {
		logger.Warn("could not ensure the webhook table", "error", err.Error())
	}
	return webhook.NewReceiver(webhook.ReceiverOptions{
		Verifier: webhook.NewVerifier(vopts), Replays: replays, Sender: send, ContinuationsQueue: cfg.ContinuationsQueue,
	})
}
