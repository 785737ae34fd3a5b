// Package op holds the lowest-level primitives that the engine, the expiry
// sweep, the ledger and the event builder share: the per-invocation context
// (Invocation), the continuation message and its Kind, the stable error Code
// and the one Failure shape, the one Result shape, the retry delay and the
// derivation of deterministic Service Bus message ids.
//
// It is a leaf: it imports no other gdapflow package except the bus message,
// the domain types (gdap) and the upstream error, so that every component
// can depend on it and none needs another component for these types.
package op
