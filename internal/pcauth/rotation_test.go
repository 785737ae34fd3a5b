package pcauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gdapflow/gdapflow/internal/dev/localenv"
	"github.com/gdapflow/gdapflow/internal/dev/pcsim"
	"github.com/gdapflow/gdapflow/internal/pcauth"
)

func TestMain(m *testing.M) { localenv.Main(m) }

// guardedStore returns a Key Vault store on the simulator's vault with its
// guard row in a fresh Azurite table.
func (b testBundle) guardedStore(t *testing.T) *pcauth.KeyVaultStore {
	t.Helper()
	table, err := localenv.SharedAzurite(t).NewTableClient(localenv.UniqueName("pcauth"))
	require.NoError(t, err)
	st, err := pcauth.NewKeyVaultStoreFromURI(b.srv.URL+"/secrets/"+secretName, &fakeCredential{token: "kv"},
		&pcauth.KeyVaultStoreOptions{HTTPClient: b.srv.Client(), Guard: table})
	require.NoError(t, err)
	require.NoError(t, st.EnsureGuardTable(t.Context()))
	require.NoError(t, st.EnsureGuardTable(t.Context()), "idempotent")
	return st
}

// pausingStore holds Replace until released, so that a test can run
// another instance's whole rotation between this instance's grant and its
// save.
type pausingStore struct {
	pcauth.RefreshTokenStore
	arrived chan struct{}
	release chan struct{}
}

func (p *pausingStore) Replace(ctx context.Context, redeemed pcauth.StoredToken, token string) error {
	p.arrived <- struct{}{}
	<-p.release
	return p.RefreshTokenStore.Replace(ctx, redeemed, token)
}

func current(t *testing.T, store pcauth.RefreshTokenStore) string {
	t.Helper()
	cur, err := store.Current(t.Context())
	require.NoError(t, err)
	return cur.Value
}

// TestConcurrentRotationNeverStoresOlderToken drives two instances sharing
// one store through the worst interleaving, explicitly: B redeems the
// stored token and stalls before saving its rotated token; meanwhile A
// redeems the same token, saves its successor, and rotates once more. When
// B finally saves, the store refuses (B's token descends from a token that
// is no longer current) and keeps A's newest token, which a third instance
// can redeem; B still hands out the access token it obtained.
func TestConcurrentRotationNeverStoresOlderToken(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"memory", "keyvault+guard"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil) // Entra's default: a redeemed token stays valid
			rt1 := b.sim.IssueRefreshToken(clientID)
			var store pcauth.RefreshTokenStore
			if kind == "memory" {
				store = pcauth.NewMemoryStore(rt1)
			} else {
				b.sim.SetSecret(secretName, rt1)
				store = b.guardedStore(t)
			}
			paused := &pausingStore{RefreshTokenStore: store, arrived: make(chan struct{}), release: make(chan struct{})}
			srcA := b.source(t, store, nil)
			srcB := b.source(t, paused, nil)

			type result struct {
				tok string
				err error
			}
			doneB := make(chan result, 1)
			go func() {
				tok, err := srcB.Token(t.Context())
				doneB <- result{tok, err}
			}()
			<-paused.arrived // B redeemed rt1 and is about to save its successor

			_, err := srcA.Token(t.Context())
			require.NoError(t, err)
			rt2 := current(t, store)
			require.NotEqual(t, rt1, rt2, "A saved its rotation (B's redemption did not block it)")
			b.clock.Advance(56 * time.Minute) // A's access token is due for refresh
			_, err = srcA.Token(t.Context())
			require.NoError(t, err)
			rt3 := current(t, store)
			require.NotEqual(t, rt2, rt3, "A rotated again")

			close(paused.release)
			resB := <-doneB
			require.NoError(t, resB.err, "B's access token is good even though its rotation lost")
			require.NotEmpty(t, resB.tok)
			require.Equal(t, rt3, current(t, store), "B's older-lineage token was not stored over A's newest")
			require.Equal(t, 3, b.sim.Counters().RefreshTokenGrants)

			// A third instance starts from the store and works.
			srcC := b.source(t, store, nil)
			_, err = srcC.Token(t.Context())
			require.NoError(t, err)
			require.NotEqual(t, rt3, current(t, store))
			require.Contains(t, b.logs.String(), "another instance stored a newer Partner Center refresh token first")
		})
	}
}

// TestSingleUseRotationRace runs the same interleaving where refresh tokens
// are single-use (pcsim StrictRotation): A's redemption of the token B
// already redeemed is refused, A reads the store again, finds it unchanged
// (B has not saved yet) and fails with invalid_grant; once B
// has saved, A redeems B's token and the chain continues.
func TestSingleUseRotationRace(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *pcsim.Options) { o.StrictRotation = true })
	rt1 := b.sim.IssueRefreshToken(clientID)
	b.sim.SetSecret(secretName, rt1)
	store := b.guardedStore(t)
	paused := &pausingStore{RefreshTokenStore: store, arrived: make(chan struct{}), release: make(chan struct{})}
	srcA := b.source(t, store, nil)
	srcB := b.source(t, paused, nil)

	doneB := make(chan error, 1)
	go func() {
		_, err := srcB.Token(t.Context())
		doneB <- err
	}()
	<-paused.arrived
	_, err := srcA.Token(t.Context())
	ue := requireUpstream(t, err)
	require.Equal(t, pcauth.CodeInvalidGrant, ue.Code, "rt1 was redeemed by B, whose successor is not stored yet")

	close(paused.release)
	require.NoError(t, <-doneB)
	rt2 := current(t, store)
	require.NotEqual(t, rt1, rt2)
	_, err = srcA.Token(t.Context())
	require.NoError(t, err, "A redeems B's token once it is stored")
	require.NotEqual(t, rt2, current(t, store))
}

// TestSingleUseRetryWithNewerToken: where tokens are single-use, an
// instance whose token was redeemed and replaced by another instance since
// it read the store re-reads it and redeems the newer token, without an
// alarm.
func TestSingleUseRetryWithNewerToken(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *pcsim.Options) { o.StrictRotation = true })
	rt1 := b.sim.IssueRefreshToken(clientID)
	store := pcauth.NewMemoryStore(rt1)
	// stale serves rt1 once (as if read just before another instance
	// rotated), then the store's real state.
	stale := &staleOnce{RefreshTokenStore: store, first: pcauth.StoredToken{Value: rt1, Version: "0"}}
	srcA := b.source(t, store, nil)
	_, err := srcA.Token(t.Context()) // rotates rt1 → rt2
	require.NoError(t, err)
	srcB := b.source(t, stale, nil)
	_, err = srcB.Token(t.Context())
	require.NoError(t, err)
	require.Empty(t, errorLines(b.logs), "no credential alarm")
	require.Equal(t, 2, b.sim.Counters().RefreshTokenGrants, "rt1 refused (not a grant), then rt2 redeemed")
	require.Contains(t, b.logs.String(), "redeeming the newer one")
}

type staleOnce struct {
	pcauth.RefreshTokenStore
	first pcauth.StoredToken
	used  bool
}

func (s *staleOnce) Current(ctx context.Context) (pcauth.StoredToken, error) {
	if !s.used {
		s.used = true
		return s.first, nil
	}
	return s.RefreshTokenStore.Current(ctx)
}

// TestKeyVaultGuard covers the guarded store's own rules: the first swap
// inserts the guard row, a retried Replace of the same token is not a
// conflict, a stale Replace is refused and leaves only an orphan version
// nobody reads, and an operator's re-bootstrap (a version not written by
// gdapflow) becomes current without touching the row.
func TestKeyVaultGuard(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := t.Context()
	store := b.guardedStore(t)

	cur, err := store.Current(ctx)
	require.NoError(t, err)
	require.Empty(t, cur.Value, "nothing stored")
	b.sim.SetSecret(secretName, "rt-1")
	v1, err := store.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, "rt-1", v1.Value)
	require.NotEmpty(t, v1.Version)

	require.NoError(t, store.Replace(ctx, v1, "rt-2"), "first swap inserts the row")
	require.NoError(t, store.Replace(ctx, v1, "rt-2"), "a retry of the same swap succeeds")
	v2, err := store.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, "rt-2", v2.Value)

	err = store.Replace(ctx, v1, "rt-stale")
	require.True(t, errors.Is(err, pcauth.ErrTokenSuperseded), "got %v", err)
	last, _ := b.sim.Secret(secretName)
	require.Equal(t, "rt-stale", last, "the losing version exists in the vault …")
	require.Equal(t, "rt-2", current(t, store), "… but is never read")

	require.NoError(t, store.Replace(ctx, v2, "rt-3"))
	require.Equal(t, "rt-3", current(t, store))

	b.sim.SetSecret(secretName, "rt-operator") // an Admin Agent re-bootstraps
	vop, err := store.Current(ctx)
	require.NoError(t, err)
	require.Equal(t, "rt-operator", vop.Value)
	require.NoError(t, store.Replace(ctx, vop, "rt-4"))
	require.Equal(t, "rt-4", current(t, store))
	loaded, err := store.Load(ctx)
	require.NoError(t, err)
	require.Equal(t, "rt-4", loaded)
}

// TestKeyVaultWithoutGuard: without a guard table Replace still refuses a
// token redeemed from a version that is no longer the latest.
func TestKeyVaultWithoutGuard(t *testing.T) {
	t.Parallel()
	b := setup(t, nil)
	ctx := t.Context()
	store := b.keyVaultStore(t, &fakeCredential{token: "kv"})
	require.NoError(t, store.EnsureGuardTable(ctx), "no guard: nothing to create")
	b.sim.SetSecret(secretName, "rt-1")
	v1, err := store.Current(ctx)
	require.NoError(t, err)
	require.NoError(t, store.Replace(ctx, v1, "rt-2"))
	require.NoError(t, store.Replace(ctx, v1, "rt-2"), "a retry of the same token")
	require.ErrorIs(t, store.Replace(ctx, v1, "rt-stale"), pcauth.ErrTokenSuperseded)
	require.Equal(t, "rt-2", current(t, store))
}
