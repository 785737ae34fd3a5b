// Package webhook receives Partner Center webhook deliveries
// (docs/platform/partner-center-webhooks.md): it authenticates a delivery
// (signature over the exact body with a certificate fetched from an allowed
// host and chained to a trusted root), rejects stale and replayed ones, and
// turns a verified GDAP event into a refresh of the relationship it names.
//
// Every authentication failure is a *Rejection with a stable Reason; the
// receiver answers it 401 and logs the reason, and nothing is enqueued.
package webhook
