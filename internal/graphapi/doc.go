// Package graphapi is gdapflow's client for the Microsoft Graph GDAP API
// (tenantRelationships/delegatedAdminRelationships — created, listed by
// name or customer, updated and deleted — with their requests, their access
// assignments and their long-running operations). It is the only package in the repository that
// imports msgraph-beta-sdk-go, and it imports only the SDK's models and
// tenantrelationships packages and msgraph-sdk-go-core, never the SDK root
// package (which costs minutes of compilation): request builders are built
// directly on a request adapter. Callers see plain gdap types and *upstream.Error.
//
// # Wire behaviour
//
// The Kiota request adapter is built once in New and shared by every call; a
// Client is safe for concurrent use.
//
//   - Compression: request bodies are never gzip-compressed. The middleware
//     chain is built with khttp.GetDefaultMiddlewaresWithOptions and
//     CompressionOptions(false): Kiota orders its middleware randomly, and with
//     compression enabled a retried body could go out uncompressed but still
//     labelled Content-Encoding: gzip.
//   - Retries: the SDK retry handler is kept in the chain but its ShouldRetry
//     always answers false, and redirects are not followed. A 429/503/504
//     comes straight back as an *upstream.Error carrying Retry-After; gdapflow
//     retries through continuation messages, so no invocation ever sleeps in
//     process. Every HTTP call is bounded by Options.RequestTimeout.
//   - Status codes: Kiota exposes no status code, and treats 202 as success.
//     Every call therefore installs a response handler option that receives
//     the raw *http.Response; this package reads status, headers (Location,
//     Retry-After, request-id) and body itself, decodes success bodies with
//     the SDK's JSON parse nodes and models, and maps error bodies
//     ({"error":{"code","message","innerError":{"request-id"}}}) to
//     *upstream.Error.
//   - Headers: every call sends "Prefer: include-unknown-enum-members" (so
//     the reject action and the delegatedAdminRelationshipUpdate operation
//     type decode), PATCH sends If-Match with the exact etag string.
//   - PATCH bodies carry only the fields set in gdap.Changes. Durations are
//     written through AdditionalData as the exact strings given, because the
//     SDK's ISODuration prints PT0S as "P" and P14D as "P2W".
//   - Durations read back use the raw strings of the response body ("P" is
//     reported as "PT0S"), so what the caller sent is what it reads.
//   - Auth: the azcore.TokenCredential is used through the Graph core
//     authentication provider whose allowed hosts are the BaseURL's host plus
//     the public Graph hosts; the SDK would send a request to any other host
//     without Authorization, and GetOperation and list paging refuse URLs on
//     another host than BaseURL's so that the token never leaves it. Plain
//     http is accepted only for loopback hosts (the local simulator).
package graphapi
