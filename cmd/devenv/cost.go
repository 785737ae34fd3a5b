package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/config"
)

// costSweepSizes are the relationship counts the sweep is costed at
// (BenchmarkSweep150k's sub-benchmarks relationships=N).
var costSweepSizes = []int{1000, 15000, 150000} //nolint:gochecknoglobals // immutable table

// costSweepBench is the Go benchmark whose results the sweep rows use.
const costSweepBench = "BenchmarkSweep150k"

// costPrice is one unit price (USD, pay-as-you-go list) or free quantity of
// the cost table, with the flag that sets it and where its default comes
// from.
type costPrice struct {
	Flag  string
	What  string
	Value float64
	// Default is the researched list figure; Value differs from it only
	// when the flag was given.
	Default float64
	// AsOf is the date the default's source states; Source its address;
	// Note the key of a note in costNotes ("" = none).
	AsOf, Source, Note string
}

// costNotes explain where the defaults come from; "verified" notes cite
// Microsoft's own text, the others say why a figure is not verified.
var costNotes = map[string]string{ //nolint:gochecknoglobals // immutable table
	"a": "Unverified. Microsoft's pricing page shows `$-` where the prices go in every stored copy (they are filled in by script), " +
		"so the figures come from third-party copies of the list price: a public design document quoting the Azure Retail Prices API " +
		"for `eastus` on 2026-07-30 (On Demand Execution Time $0.000026/GB-s, On Demand Total Executions $0.000004 per 10, " +
		"Always Ready Baseline $0.000004/GB-s), https://modal.com/blog/azure-function-pricing-guide (2025-05-22, East US, $0.000026/GB-s) " +
		"and, for the free grants, a public document citing the pricing page on 2026-09-21 (Flex Consumption: 250,000 executions and 100,000 GB-s a month).",
	"b": "Unverified for the same reason: from a public cost document citing the pricing page, retrieved 2025-09-29 " +
		"(Standard base $0.0135 per hour, about $9.86 a month; $0.80 per million operations from 13 M to 100 M a month). " +
		"The 13 M operations included in the base charge are in the stored copies of Microsoft's page. " +
		"Above 100 M operations a month the price per million is lower; not modeled.",
	"c": "Unverified for the same reason: from a public document quoting the retail rates checked on 2026-07-21 for Austria East " +
		"($0.045 per GiB-month, $0.00036 per 10,000 operations); several other copies give the same two figures without a region or date. " +
		"East US is not confirmed.",
}

// costModel is the monthly cost model of `make bench`: unit prices (flags,
// with researched list prices as defaults) and the deployment's shape.
type costModel struct {
	FlexGBs, FlexExecMillion, FlexFreeGBs, FlexFreeExecs, FlexAlwaysReadyGBs costPrice
	SBBaseHour, SBOpsMillion, SBIncludedOps                                  costPrice
	TableTx10k, TableGBMonth                                                 costPrice
	// PricesDate is the date the unit prices are given for (-prices-date).
	PricesDate string

	// InstanceMemoryMB is the Flex Consumption instance memory, billed
	// whole while the instance executes (infra/main.bicep instanceMemoryMB).
	InstanceMemoryMB int
	// AlwaysReady is the always-ready instance count (infra/main.bicep
	// commandsAlwaysReady), billed as a baseline while idle.
	AlwaysReady int
	// Subscriptions is the number of subscriptions on the events topic:
	// each receives every event.
	Subscriptions int
	// OpsPerDelivery is the Service Bus operations of one delivery: a
	// receive with a lock and its complete.
	OpsPerDelivery int
	// Commands is the monthly number of commands each command row costs.
	Commands int
	// SweepsPerDay and DaysPerMonth set the sweeps a month.
	SweepsPerDay, DaysPerMonth float64
	// MinBilled is Flex Consumption's minimum billable execution period,
	// BillingStep what a longer one is rounded up to.
	MinBilled, BillingStep time.Duration
	// CommandsQueue and EventsTopic name the entities: a send to the topic
	// is delivered once per subscription, any other once.
	CommandsQueue, EventsTopic string
}

// defaultCostModel is the model with the researched list prices and the
// default deployment (infra/main.bicep, host.json).
func defaultCostModel() costModel {
	const (
		functionsPricing = "https://azure.microsoft.com/en-us/pricing/details/functions/"
		serviceBus       = "https://azure.microsoft.com/en-us/pricing/details/service-bus/"
		tables           = "https://azure.microsoft.com/en-us/pricing/details/storage/tables/"
	)
	p := func(flag, what string, v float64, asOf, source, note string) costPrice {
		return costPrice{Flag: flag, What: what, Value: v, Default: v, AsOf: asOf, Source: source, Note: note}
	}
	return costModel{
		FlexGBs:            p("price-flex-gbs", "Flex Consumption On Demand execution time, per GB-s", 0.000026, "2026-07-30", functionsPricing, "a"),
		FlexExecMillion:    p("price-flex-exec-million", "Flex Consumption On Demand executions, per million", 0.40, "2026-07-30", functionsPricing, "a"),
		FlexFreeGBs:        p("flex-free-gbs", "Flex Consumption monthly free grant, GB-s", 100000, "2026-09-21", functionsPricing, "a"),
		FlexFreeExecs:      p("flex-free-execs", "Flex Consumption monthly free grant, executions", 250000, "2026-09-21", functionsPricing, "a"),
		FlexAlwaysReadyGBs: p("price-flex-always-ready-gbs", "Flex Consumption always ready baseline, per GB-s", 0.000004, "2026-07-30", functionsPricing, "a"),
		SBBaseHour:         p("price-sb-base-hour", "Service Bus Standard base charge, per hour", 0.0135, "2025-09-29", serviceBus, "b"),
		SBOpsMillion:       p("price-sb-ops-million", "Service Bus Standard operations, per million (13 M–100 M a month)", 0.80, "2025-09-29", serviceBus, "b"),
		SBIncludedOps:      p("sb-included-ops", "Service Bus Standard operations included a month", 13e6, "2025-09-29", serviceBus, "b"),
		TableTx10k:         p("price-table-10k", "Table Storage (LRS) transactions, per 10,000", 0.00036, "2026-07-21", tables, "c"),
		TableGBMonth:       p("price-table-gb-month", "Table Storage (LRS) data stored, per GB-month", 0.045, "2026-07-21", tables, "c"),
		PricesDate:         "2026-07-30",
		InstanceMemoryMB:   2048,
		AlwaysReady:        0,
		Subscriptions:      1,
		OpsPerDelivery:     2,
		Commands:           10000,
		SweepsPerDay:       4,
		DaysPerMonth:       30.4,
		MinBilled:          time.Second,
		BillingStep:        100 * time.Millisecond,
		CommandsQueue:      config.DefaultCommandsQueue,
		EventsTopic:        config.DefaultEventsTopic,
	}
}

// prices lists the model's prices in the order the table shows them.
func (m *costModel) prices() []*costPrice {
	return []*costPrice{&m.FlexGBs, &m.FlexExecMillion, &m.FlexFreeGBs, &m.FlexFreeExecs, &m.FlexAlwaysReadyGBs,
		&m.SBBaseHour, &m.SBOpsMillion, &m.SBIncludedOps, &m.TableTx10k, &m.TableGBMonth}
}

// costFlags registers the cost model's flags on fs and returns the model
// they fill in.
func costFlags(fs *flag.FlagSet) *costModel {
	m := defaultCostModel()
	for _, p := range m.prices() {
		fs.Float64Var(&p.Value, p.Flag, p.Default, "cost table: "+p.What+" (USD for prices)")
	}
	fs.StringVar(&m.PricesDate, "prices-date", m.PricesDate, "cost table: the date the unit prices are for")
	fs.IntVar(&m.InstanceMemoryMB, "instance-memory-mb", m.InstanceMemoryMB, "cost table: Flex Consumption instance memory (infra/main.bicep instanceMemoryMB)")
	fs.IntVar(&m.AlwaysReady, "always-ready", m.AlwaysReady, "cost table: always-ready instances (infra/main.bicep commandsAlwaysReady)")
	fs.IntVar(&m.Subscriptions, "event-subscriptions", m.Subscriptions, "cost table: subscriptions on the events topic (each receives every event)")
	fs.IntVar(&m.Commands, "cost-commands", m.Commands, "cost table: commands a month of each type")
	return &m
}

// sweepsPerMonth is how many sweeps a month the schedule runs.
func (m costModel) sweepsPerMonth() float64 { return m.SweepsPerDay * m.DaysPerMonth }

// memoryGB is the instance memory in GB as Flex Consumption meters it
// (MB-milliseconds / 1,024,000 = GB-s).
func (m costModel) memoryGB() float64 { return float64(m.InstanceMemoryMB) / 1024 }

// billed is the billable time of one activity period of d: at least
// MinBilled, otherwise d rounded up to BillingStep.
func (m costModel) billed(d time.Duration) time.Duration {
	if r := d % m.BillingStep; r != 0 {
		d += m.BillingStep - r
	}
	return max(d, m.MinBilled)
}

// messageOps is the Service Bus operations of one message sent to entity:
// the send, and a receive and complete per delivery (one per subscription
// on the events topic, one on a queue).
func (m costModel) messageOps(entity string) float64 {
	deliveries := 1
	if entity == m.EventsTopic {
		deliveries = m.Subscriptions
	}
	return float64(1 + deliveries*m.OpsPerDelivery)
}

// costUsage is what a workload uses of each meter. NaN means not measured.
type costUsage struct {
	Executions, GBs, SBOps, TableTx float64
}

func (u costUsage) times(k float64) costUsage {
	return costUsage{Executions: u.Executions * k, GBs: u.GBs * k, SBOps: u.SBOps * k, TableTx: u.TableTx * k}
}

// costBill is a workload's monthly cost by service, in USD; NaN means not
// measured.
type costBill struct {
	Functions, ServiceBus, Table float64
}

// total is the sum of the measured parts; partial is whether any part was
// not measured.
func (b costBill) total() (total float64, partial bool) {
	for _, v := range []float64{b.Functions, b.ServiceBus, b.Table} {
		if math.IsNaN(v) {
			partial = true
			continue
		}
		total += v
	}
	return total, partial
}

// bill prices u. With grants, the Flex Consumption free grant and the
// operations included in the Service Bus base charge are deducted first,
// as if the workload were the subscription's only one.
func (m costModel) bill(u costUsage, grants bool) costBill {
	execs, gbs, ops := u.Executions, u.GBs, u.SBOps
	if grants {
		execs = max(0, execs-m.FlexFreeExecs.Value)
		gbs = max(0, gbs-m.FlexFreeGBs.Value)
		ops = max(0, ops-m.SBIncludedOps.Value)
	}
	return costBill{
		Functions:  execs/1e6*m.FlexExecMillion.Value + gbs*m.FlexGBs.Value,
		ServiceBus: ops / 1e6 * m.SBOpsMillion.Value,
		Table:      u.TableTx / 1e4 * m.TableTx10k.Value,
	}
}

// commandUsage is what one command of c's type uses: its invocations, each
// billed for its measured duration (fallback for those not measured), the
// command's own message and every message it sent, and its Table calls.
// basis says where the durations came from.
func (m costModel) commandUsage(c callsResult, fallback time.Duration) (u costUsage, basis string) {
	var billed time.Duration
	measured := min(len(c.Durations), c.Invocations)
	for _, d := range c.Durations[:measured] {
		billed += m.billed(d)
	}
	if measured > 0 {
		basis = "measured, longest " + ms(slices.Max(c.Durations[:measured]))
	}
	if measured < c.Invocations {
		billed += time.Duration(c.Invocations-measured) * m.billed(fallback)
		basis = strings.TrimPrefix(basis+"; ", "; ") + fmt.Sprintf("%d of %d assumed %s", c.Invocations-measured, c.Invocations, ms(fallback))
	}
	ops := m.messageOps(m.CommandsQueue)
	for entity, n := range c.Brokers {
		ops += float64(n) * m.messageOps(entity)
	}
	return costUsage{
		Executions: float64(c.Invocations),
		GBs:        m.memoryGB() * billed.Seconds(),
		SBOps:      ops,
		TableTx:    float64(c.Table),
	}, basis
}

// sweepUsage is what one sweep uses, from BenchmarkSweep150k's metrics
// for phase "first" or "second". Its invocations run one after another, so
// the instance executes for the sweep's duration, and at least the minimum
// billable period per invocation. Each invocation after the timer's first
// was a continuation message; the other sends are events.
func (m costModel) sweepUsage(metrics map[string]float64, phase string) costUsage {
	get := func(name string) float64 {
		if v, ok := metrics[name]; ok {
			return v
		}
		return math.NaN()
	}
	secs, invocations := get(phase+"-sweep-s"), get("invocations-"+phase)
	sends := get("sends-" + phase)
	billed := math.NaN()
	if !math.IsNaN(secs) {
		billed = math.Max(m.billed(time.Duration(secs*float64(time.Second))).Seconds(), invocations*m.MinBilled.Seconds())
	}
	continuations := math.Min(math.Max(invocations-1, 0), sends)
	return costUsage{
		Executions: invocations,
		GBs:        m.memoryGB() * billed,
		SBOps:      continuations*m.messageOps(config.DefaultContinuationsQueue) + (sends-continuations)*m.messageOps(m.EventsTopic),
		TableTx:    get("table-ops-" + phase),
	}
}

// alwaysReadyMonth is the monthly baseline of the always-ready instances.
func (m costModel) alwaysReadyMonth() float64 {
	seconds := m.DaysPerMonth * 24 * 3600
	return float64(m.AlwaysReady) * m.memoryGB() * seconds * m.FlexAlwaysReadyGBs.Value
}

// serviceBusBaseMonth is the Service Bus Standard base charge of a month.
func (m costModel) serviceBusBaseMonth() float64 {
	return m.SBBaseHour.Value * m.DaysPerMonth * 24
}

// sweepMetrics parses BenchmarkSweep150k's result lines from the bench
// run's Go benchmarks: metrics by relationship count (the mean over
// repeated lines). why says why there are none.
func sweepMetrics(goBench []goBenchResult) (bySize map[int]map[string]float64, why string) {
	why = "not measured in this run (-go-bench=false or -sweep=false)"
	for _, g := range goBench {
		if !strings.Contains(g.Command, costSweepBench) {
			continue
		}
		if g.Err != "" {
			why = "not measured: " + g.Err
		}
		sums, counts := map[int]map[string]float64{}, map[int]map[string]int{}
		for _, l := range g.Lines {
			name, _, metrics, ok := parseBenchLine(l, costSweepBench)
			if !ok {
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(name, "relationships="))
			if err != nil || !strings.HasPrefix(name, "relationships=") {
				continue
			}
			if sums[n] == nil {
				sums[n], counts[n] = map[string]float64{}, map[string]int{}
			}
			for k, v := range metrics {
				sums[n][k] += v
				counts[n][k]++
			}
		}
		for n, s := range sums {
			for k := range s {
				s[k] /= float64(counts[n][k])
			}
		}
		if len(sums) > 0 {
			return sums, "not measured in this run (no relationships=N sub-benchmark of that size)"
		}
	}
	return nil, why
}

// renderCost writes the monthly cost section of docs/performance.md.
func renderCost(w io.Writer, r *benchResults, m costModel) {
	fmt.Fprintln(w, "### Monthly cost at list prices")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Derived from this run's measurements: Flex Consumption On Demand (%d MB instances, each invocation billed at least %g s, "+
		"rounded up to %g s past that), Service Bus Standard (a send is 1 operation, each delivery a receive and a complete: %d, "+
		"%d subscription(s) on `%s`), Table Storage (1 transaction per request). USD at the list prices of %s, listed below. "+
		"Microsoft Graph and Partner Center calls are not billed per call and are not in the table. "+
		"\"with free grants\" deducts the Flex Consumption free grant and the Service Bus operations included in the base charge as if the row were the subscription's only workload.\n\n",
		m.InstanceMemoryMB, m.MinBilled.Seconds(), m.BillingStep.Seconds(), m.OpsPerDelivery, m.Subscriptions, m.EventsTopic, m.PricesDate)

	fallback, fallbackName := m.MinBilled, "the minimum billable period"
	if len(r.Levels) > 0 && r.Levels[0].HandlerP50 > 0 {
		fallback, fallbackName = r.Levels[0].HandlerP50, fmt.Sprintf("the update's handler p50 at %d client(s)", r.Levels[0].Concurrency)
	}
	fmt.Fprintf(w, "%s commands a month of one type (calls and invocation durations from \"Calls per command type\"; an invocation whose duration was not measured is assumed to take %s):\n\n",
		count(float64(m.Commands)), fallbackName)
	fmt.Fprintln(w, "| command type | invocations | GB-s | Service Bus ops | Table transactions | Functions | Service Bus | Table | total | with free grants | durations |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, c := range r.Calls {
		one, basis := m.commandUsage(c, fallback)
		u := one.times(float64(m.Commands))
		writeCostRow(w, []string{c.Name}, m, u, []string{basis})
	}
	if len(r.Calls) == 0 {
		fmt.Fprintln(w, "| (calls per command type not measured) | | | | | | | | | | |")
	}
	fmt.Fprintln(w)

	bySize, why := sweepMetrics(r.GoBench)
	fmt.Fprintf(w, "The expiry sweep every 6 hours (%g a day × %g days = %g sweeps a month), from `%s` (\"Go benchmarks\"): the steady state is its second sweep "+
		"(nothing changed); its first sweep (every row written) is shown once, not monthly. Each invocation after the first is a continuation "+
		"message on a queue, the other sends are events. Graph's pages are not billed.\n\n",
		m.SweepsPerDay, m.DaysPerMonth, m.sweepsPerMonth(), costSweepBench)
	fmt.Fprintln(w, "| relationships | sweep | invocations | GB-s | Service Bus ops | Table transactions | Functions | Service Bus | Table | total | with free grants | per sweep |")
	fmt.Fprintln(w, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, n := range costSweepSizes {
		metrics, ok := bySize[n]
		for _, ph := range []struct {
			phase, label string
			times        float64
		}{{"second", fmt.Sprintf("steady state, %g a month", m.sweepsPerMonth()), m.sweepsPerMonth()}, {"first", "first sweep, once", 1}} {
			if !ok {
				fmt.Fprintf(w, "| %s | %s | %s | | | | | | | | | |\n", count(float64(n)), ph.label, why)
				continue
			}
			u := m.sweepUsage(metrics, ph.phase)
			writeCostRow(w, []string{count(float64(n)), ph.label}, m, u.times(ph.times), []string{sweepDetail(metrics, ph.phase)})
		}
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "Fixed monthly charges, not per command or sweep:")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "- Service Bus Standard base charge, shared by everything above: %s × %s h = %s.\n",
		unitPrice(m.SBBaseHour.Value), strconv.FormatFloat(m.DaysPerMonth*24, 'f', 1, 64), money(m.serviceBusBaseMonth()))
	fmt.Fprintf(w, "- Always-ready instances: %d (`commandsAlwaysReady`, infra/main.bicep; `-always-ready`) × %d MB × %g days at %s/GB-s = %s.\n",
		m.AlwaysReady, m.InstanceMemoryMB, m.DaysPerMonth, unitPrice(m.FlexAlwaysReadyGBs.Value), money(m.alwaysReadyMonth()))
	if r.LedgerEntityBytes > 0 {
		gb := float64(m.Commands) * float64(r.LedgerEntityBytes) / 1e9
		fmt.Fprintf(w, "- Table storage: each operation's ledger record, %d bytes of JSON here (measured; the billed size differs somewhat), is kept forever "+
			"(docs/ledger.md): %s operations add %.3f GB, %s a month for every month they are kept. The sweep's snapshot rows (one per relationship) are not measured: left out.\n",
			r.LedgerEntityBytes, count(float64(m.Commands)), gb, money(gb*m.TableGBMonth.Value))
	} else {
		fmt.Fprintln(w, "- Table storage (ledger records, snapshot rows): not measured in this run, left out.")
	}
	fmt.Fprintln(w, "- Not included: Application Insights / Log Analytics ingestion, the Functions host's own storage account and deployment package, Key Vault, bandwidth, "+
		"and the Service Bus receives the trigger makes while a queue is empty.")
	fmt.Fprintln(w)

	fmt.Fprintf(w, "Unit prices used (USD, pay-as-you-go, East US unless noted), for %s:\n\n", m.PricesDate)
	fmt.Fprintln(w, "| price | value | flag | as of | source |")
	fmt.Fprintln(w, "|---|---:|---|---|---|")
	notes := map[string]bool{}
	for _, p := range m.prices() {
		asOf, source := p.AsOf, p.Source
		if p.Note != "" {
			source += " [" + p.Note + "]"
			notes[p.Note] = true
		}
		if p.Value != p.Default {
			asOf, source = m.PricesDate, "given with -"+p.Flag
		}
		fmt.Fprintf(w, "| %s | %s | `-%s` | %s | %s |\n", p.What, strconv.FormatFloat(p.Value, 'f', -1, 64), p.Flag, asOf, source)
	}
	fmt.Fprintln(w)
	for _, k := range []string{"a", "b", "c"} {
		if notes[k] {
			fmt.Fprintf(w, "[%s] %s\n\n", k, costNotes[k])
		}
	}
	fmt.Fprintln(w, "Billing rules (Microsoft's text): Flex Consumption On Demand bills the instance's memory while it executes functions, "+
		"\"The minimum billable execution period for both execution modes is 1,000 ms. Past that, the billable activity period is rounded up to the nearest 100 ms\" "+
		"(https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#billing); concurrent invocations on one instance share that period, "+
		"so billing each invocation alone is the upper bound, and the exact figure for commands that arrive one at a time. "+
		"Service Bus: \"A send, receive delete for a message that is less than or equal to 64KB in size is considered as one billable operation ... "+
		"Reading the 8KB message with a lock and then completing or explicitly abandoning the message will be billed as two operations\", "+
		"and each subscription's delivery counts on its own (FAQ of https://azure.microsoft.com/en-us/pricing/details/service-bus/). "+
		"Table Storage: each REST request is a potential billable transaction (\"Understanding Windows Azure Storage Billing\", Azure Storage team, 2010); "+
		"a batch is one request.")
	fmt.Fprintln(w)
}

// writeCostRow writes one cost table row: the leading cells, u's meters,
// its bill without and with free grants, and the trailing cells.
func writeCostRow(w io.Writer, lead []string, m costModel, u costUsage, trail []string) {
	b := m.bill(u, false)
	total, partial := b.total()
	withGrants, _ := m.bill(u, true).total()
	atLeast := ""
	if partial {
		atLeast = "≥ "
	}
	cells := append(append([]string{}, lead...),
		count(u.Executions), count(u.GBs), count(u.SBOps), count(u.TableTx),
		money(b.Functions), money(b.ServiceBus), money(b.Table), atLeast+money(total), atLeast+money(withGrants))
	cells = append(cells, trail...)
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

// sweepDetail is one sweep's measured figures for phase.
func sweepDetail(metrics map[string]float64, phase string) string {
	var parts []string
	for _, k := range []struct{ name, label string }{
		{phase + "-sweep-s", "s"}, {"invocations-" + phase, "invocations"}, {"table-ops-" + phase, "Table ops"}, {"sends-" + phase, "sends"},
	} {
		if v, ok := metrics[k.name]; ok {
			parts = append(parts, strconv.FormatFloat(v, 'f', -1, 64)+" "+k.label)
		} else {
			parts = append(parts, k.label+" not measured")
		}
	}
	return strings.Join(parts, ", ")
}

// money formats a USD amount: cents, or four decimals below a cent; NaN
// is "not measured".
func money(v float64) string {
	switch {
	case math.IsNaN(v):
		return "not measured"
	case v != 0 && math.Abs(v) < 0.01:
		return "$" + strconv.FormatFloat(v, 'f', 4, 64)
	}
	return "$" + strconv.FormatFloat(v, 'f', 2, 64)
}

// unitPrice formats a unit price in USD with all its digits.
func unitPrice(v float64) string { return "$" + strconv.FormatFloat(v, 'f', -1, 64) }

// count formats a quantity rounded to a whole number with thousands
// separators; NaN is "not measured".
func count(v float64) string {
	if math.IsNaN(v) {
		return "not measured"
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
