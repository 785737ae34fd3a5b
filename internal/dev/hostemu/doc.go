// Package hostemu is a local stand-in for the Azure Functions host and the
// Service Bus namespace it listens to, for tests, the demo and benchmarks
// where neither Core Tools nor the Service Bus emulator can run.
//
// The emulator reads the real host.json and function.json files, starts the
// custom handler executable the way the host does (environment, port,
// readiness polling, restart on exit) and delivers messages to it over the
// host's real HTTP wire format (docs/platform/functions-host-facts.md §3): base64 body
// for dataType binary, double-encoded scalar metadata, 1-second timestamps,
// and sys.UtcNow taken from a virtual clock. Settlement follows the host: a
// 2xx JSON response completes the message, anything else abandons it for
// immediate redelivery with DeliveryCount+1 until the maximum delivery count,
// after which it is dead-lettered with reason MaxDeliveryCountExceeded.
//
// It also serves the local broker protocol of docs/contract.md §5, so that the
// handler's outbound messages (continuations, events) come back to it:
// entities that a serviceBusTrigger listens on are queues delivered to that
// function, every other entity is a topic whose messages are recorded and
// can be read with Emulator.Published.
//
// Time is virtual: scheduled messages become visible at their
// scheduledEnqueueTime on the vclock.Virtual given in Options, and when
// nothing is due and nothing is in flight the emulator can jump the clock to
// the next scheduled message (Options.FastForward, and always inside Drain).
package hostemu
