// Package sweep is gdapflow's expiry sweep: it pages through every GDAP
// relationship of the partner ($top=300, @odata.nextLink), keeps a snapshot
// of each relationship in Table Storage, announces expiry thresholds, ended
// relationships and long-pending approvals on the events topic, applies the
// auto-extend policy by issuing ordinary commands to the commands queue, and
// publishes one gdap.sweep.completed per sweep.
//
// A sweep is a singleton: one state row, guarded by its ETag and a lease,
// names the running sweep, its cursor (the next page's @odata.nextLink) and
// its running counts. An invocation processes pages until its time or page
// budget is spent, checkpoints after every page and continues in a
// continuation message (op.KindSweep). A trigger that arrives while a
// sweep runs joins it; a crashed chain is resumed by the redelivered
// continuation or, once its lease is stale, taken over by the next trigger.
//
// The snapshot is written only where something changed, in entity group
// transactions of up to 100 rows per partition. Memory is bounded by a page
// (plus one prefetched page), independent of the population. docs/sweep.md
// describes the design and its costs.
package sweep
