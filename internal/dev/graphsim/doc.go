// Package graphsim is a strict, in-process simulator of the Microsoft Graph
// GDAP surface (tenantRelationships: delegatedAdminRelationships with their
// requests, operations and accessAssignments, delegatedAdminCustomers) that
// gdapflow's tests, demo and benchmarks talk to instead of Graph.
//
// It implements the numbered simulator contract of
// docs/platform/graph-facts.md §9: Graph error bodies, If-Match/ETag rules, the
// status rules of every lifecycle state, 202 long-running operations,
// relationship requests, paging and query options, reseller relationships,
// evolvable enums and fault injection. Choices Graph does not document are
// explicit and, where useful, configurable through Options; docs/simulator.md
// lists them.
//
// Time comes from an injected vclock.Clock. The simulator never sleeps to make
// time pass (the latency fault is the only real sleep): scheduled transitions
// sit in a min-heap and every HTTP request and every Go API call first applies
// all transitions that are due at the clock's current time.
//
// A Sim is an http.Handler. Paths under /beta and /v1.0 are the Graph
// surface, paths under /_sim are the control surface (see control.go), and
// every other path goes to Options.Fallback when set.
package graphsim
