// Package engine executes gdapflow's commands. It is the one place that maps
// every outcome to a queue action:
//
//   - succeeded → ledger record terminal, gdap.operation.succeeded, 200;
//   - wait (202 operation, relationship request, transient upstream failure
//     with budget left, busy lease) → ledger updated, continuation scheduled
//     on the continuations queue, 200;
//   - terminal failure → ledger record terminal, gdap.operation.failed, 200;
//   - the service could neither finish nor durably record/reschedule → an
//     error, so that the handler answers non-2xx and Service Bus redelivers.
//
// Work is level-based: a command or continuation names an operation and a
// step; the engine re-reads the ledger record and the upstream state and acts
// only when the step is still current. Upstream writes happen only while the
// invocation holds the record's lease (an ETag-guarded claim), so duplicate
// deliveries never execute a write twice.
package engine
