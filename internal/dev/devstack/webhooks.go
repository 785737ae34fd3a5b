package devstack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/webhook"
)

// WebhookFunction is the HTTP function Partner Center delivers to.
const WebhookFunction = "partner-center-webhook"

//nolint:gochecknoglobals // one test PKI per process: RSA key generation is slow
var (
	pkiOnce sync.Once
	pkiVal  *pcsim.WebhookPKI
	pkiErr  error
)

// sharedPKI returns the process's webhook PKI (valid for years around DefaultStart).
func sharedPKI() (*pcsim.WebhookPKI, error) {
	pkiOnce.Do(func() { pkiVal, pkiErr = pcsim.NewWebhookPKI(DefaultStart) })
	return pkiVal, pkiErr
}

// enableWebhooks makes the Partner Center simulator sign deliveries and
// serve its certificate, and returns the app settings that make the
// handler trust it.
func (s *Stack) enableWebhooks() (map[string]string, error) {
	pki, err := sharedPKI()
	if err != nil {
		return nil, fmt.Errorf("devstack: webhook PKI: %w", err)
	}
	s.certHost = s.PC.EnableWebhooks(pki)
	return map[string]string{
		"GDAP_WEBHOOK_CERT_HOSTS": s.certHost.Host(),
		"GDAP_DEV_WEBHOOK_ROOTS":  string(pki.CAPEM),
	}, nil
}

// registerWebhook registers the emulator's webhook URL with the simulator
// for the GDAP events, as gdapctl webhook register would.
func (s *Stack) registerWebhook() error {
	url, err := s.Emu.FunctionURL(WebhookFunction)
	if err != nil {
		return err
	}
	s.WebhookURL = url
	s.PC.SetRegistration(pcsim.WebhookRegistration{WebhookURL: url, WebhookEvents: append([]string{webhook.EventTestCreated}, webhook.GDAPEvents...)})
	return nil
}

// DeliverWebhook has Partner Center deliver the event name for relID,
// changed at the current virtual time, signed, to the registered URL; it
// returns the HTTP status the service answered.
func (s *Stack) DeliverWebhook(ctx context.Context, name, relID string) (int, error) {
	return s.PC.Deliver(ctx, pcsim.Delivery{Event: pcsim.RelationshipEvent(name, relID, s.Clock.Now().Add(-time.Second))})
}
