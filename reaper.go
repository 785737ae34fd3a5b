package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/gdapflow/gdapflow/internal/config"
	"github.com/gdapflow/gdapflow/internal/engine"
	"github.com/gdapflow/gdapflow/internal/ledger"
	"github.com/gdapflow/gdapflow/internal/op"
	"github.com/gdapflow/gdapflow/internal/reaper"
)

// buildDueIndex returns the due index the engine keeps and the reaper reads,
// and makes sure its table exists (a failure is not fatal, as for the
// ledger).
func buildDueIndex(ctx context.Context, cfg config.Config, tables *aztables.ServiceClient, logger *slog.Logger) *ledger.DueIndex {
	idx := ledger.NewDueIndex(tables.NewClient(cfg.TablePrefix+"due"), nil)
	ectx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	if err := idx.EnsureTable(ectx); err != nil {
		logger.Warn("could not ensure the due index table", "error", err.Error())
	}
	return idx
}

// buildReaper returns the reaper timer's tick: a Reaper on the due index and
// the ledger that hands stranded operations to the engine, with the
// invocation's clock and logger. Each tick records its report in the due
// index's table (ledger.ReaperTick), where operators and the chaos run read
// it back.
func buildReaper(cfg config.Config, idx *ledger.DueIndex, led *ledger.Store, eng *engine.Engine) func(ctx context.Context, inv op.Invocation) error {
	return func(ctx context.Context, inv op.Invocation) error {
		rp, err := reaper.New(reaper.Config{
			Index:   idx,
			Records: led,
			Recoverer: reaper.RecovererFunc(func(ctx context.Context, rec *ledger.Record) (reaper.Outcome, error) {
				return eng.Recover(ctx, inv, rec)
			}),
			Clock:    inv.Clock,
			Logger:   inv.Log(),
			PageSize: cfg.ReaperPageSize,
			Budget:   cfg.ReaperBudget,
			Grace:    reaperGrace(cfg.ReaperGrace),
			Recorder: idx,
		})
		if err != nil {
			return err
		}
		_, err = rp.Tick(ctx)
		return err
	}
}

// reaperGrace maps a configured grace of zero to the reaper's "none" (a
// negative Grace; zero there means the default).
func reaperGrace(g time.Duration) time.Duration {
	if g == 0 {
		return -1
	}
	return g
}
