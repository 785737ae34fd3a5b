package pcauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/gdapflow/gdapflow/internal/upstream"
)

// The compare-and-swap of KeyVaultStore.Replace.
//
// Key Vault cannot do it alone: Set Secret (PUT /secrets/{name}) "creates a
// new version" whenever the secret exists and takes no precondition
// (https://learn.microsoft.com/rest/api/keyvault/secrets/set-secret/set-secret),
// and versions carry no ordering a reader could use to reject a late
// writer. So the current version is named by a guard row in Table Storage
// (PartitionKey guardPartition, RowKey the secret name, property Version),
// and a rotation is:
//
//  1. Current: read the guard row (its ETag) and the secret's latest
//     version. The current token is the version the row names — or the
//     latest version when an operator wrote it (its writer tag is not
//     gdapflow's), so a re-bootstrap takes effect without touching the row.
//  2. Redeem the token.
//  3. Replace: write the rotated token as a new secret version (not yet
//     current: readers follow the row), then replace the row to name it,
//     If-Match the ETag read in 1 (insert when there was no row).
//  4. On 412/409 the row moved: another instance rotated first. The new
//     version is left orphaned (never read: it is not named, and it is
//     gdapflow's) and Replace reports ErrTokenSuperseded — unless the row
//     names a version holding this very token, which is a retry of a
//     Replace whose swap took effect before its response was lost.
//
// An older token can therefore never become current after a newer one: a
// row update succeeds only against the ETag that was current when the
// redeemed token was read.

// guardPartition is the PartitionKey of guard rows.
const guardPartition = "pcauth-refresh-token"

// serviceTableStorage is the upstream.Error Service of guard row failures.
const serviceTableStorage = "tablestorage"

// writerTag marks secret versions written by gdapflow.
const writerTag = "gdapflow"

// EnsureGuardTable creates the guard table if there is one and it does not
// exist.
func (k *KeyVaultStore) EnsureGuardTable(ctx context.Context) error {
	if k.guard == nil {
		return nil
	}
	_, err := k.guard.CreateTable(ctx, nil)
	var re *azcore.ResponseError
	if err != nil && !(errors.As(err, &re) && re.ErrorCode == string(aztables.TableAlreadyExists)) {
		return fmt.Errorf("pcauth: create refresh token guard table: %w", err)
	}
	return nil
}

// Current implements RefreshTokenStore.
func (k *KeyVaultStore) Current(ctx context.Context) (StoredToken, error) {
	latest, writer, err := k.get(ctx, "")
	if err != nil || k.guard == nil {
		return latest, err
	}
	named, etag, err := k.readGuard(ctx)
	if err != nil {
		return StoredToken{}, err
	}
	latest.guard = etag
	if etag == "" || named == latest.Version || writer != writerTag {
		return latest, nil
	}
	// The latest version is gdapflow's but not named by the row: a rotation
	// that lost its swap (or whose swap is still under way).
	cur, _, err := k.get(ctx, named)
	if err != nil {
		return StoredToken{}, err
	}
	if cur.Version == "" {
		return latest, nil // the named version is gone (deleted by hand)
	}
	cur.guard = etag
	return cur, nil
}

// Replace implements RefreshTokenStore.
func (k *KeyVaultStore) Replace(ctx context.Context, redeemed StoredToken, token string) error {
	if k.guard == nil {
		// No guard: compare, then set. Another instance's rotation inside
		// this one round trip is not detected.
		cur, _, err := k.get(ctx, "")
		switch {
		case err != nil:
			return err
		case cur.Value == token:
			return nil
		case cur.Version != redeemed.Version:
			return ErrTokenSuperseded
		}
		_, err = k.set(ctx, token)
		return err
	}
	version, err := k.set(ctx, token)
	if err != nil {
		return err
	}
	err = k.swapGuard(ctx, redeemed.guard, version)
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) || (re.StatusCode != http.StatusPreconditionFailed && re.StatusCode != http.StatusConflict) {
		return guardError(err)
	}
	named, _, err := k.readGuard(ctx)
	if err != nil {
		return err
	}
	cur, _, err := k.get(ctx, named)
	if err != nil {
		return err
	}
	if cur.Value == token {
		return nil // our own earlier swap
	}
	return ErrTokenSuperseded
}

// get reads version ("" = latest) of the secret; a missing secret or
// version reads as the zero StoredToken. writer is the version's writer tag.
func (k *KeyVaultStore) get(ctx context.Context, version string) (tok StoredToken, writer string, err error) {
	resp, err := k.client.GetSecret(ctx, k.name, version, nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
			return StoredToken{}, "", nil
		}
		return StoredToken{}, "", kvError("read refresh token secret", err)
	}
	if resp.Value == nil {
		return StoredToken{}, "", nil
	}
	if resp.ID != nil {
		tok.Version = resp.ID.Version()
	}
	if w := resp.Tags["writer"]; w != nil {
		writer = *w
	}
	tok.Value = *resp.Value
	return tok, writer, nil
}

// set writes token as a new version of the secret and returns the version.
func (k *KeyVaultStore) set(ctx context.Context, token string) (string, error) {
	resp, err := k.client.SetSecret(ctx, k.name, azsecrets.SetSecretParameters{
		Value:       to.Ptr(token),
		ContentType: to.Ptr("application/vnd.gdapflow.pc-refresh-token"),
		Tags:        map[string]*string{"writer": to.Ptr(writerTag)},
	}, nil)
	if err != nil {
		return "", kvError("write rotated refresh token secret", err)
	}
	if resp.ID == nil || resp.ID.Version() == "" {
		return "", &upstream.Error{Service: upstream.ServiceKeyVault, Operation: "write rotated refresh token secret",
			Message: "Key Vault answered without the new version's id"}
	}
	return resp.ID.Version(), nil
}

// guardRow is the guard row's body.
type guardRow struct {
	aztables.Entity
	Version string
}

// readGuard returns the version the guard row names and the row's ETag
// ("" when there is no row).
func (k *KeyVaultStore) readGuard(ctx context.Context) (string, azcore.ETag, error) {
	resp, err := k.guard.GetEntity(ctx, guardPartition, k.name, nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound && re.ErrorCode != string(aztables.TableNotFound) {
			return "", "", nil
		}
		return "", "", guardError(err)
	}
	var row guardRow
	if err := json.Unmarshal(resp.Value, &row); err != nil {
		return "", "", fmt.Errorf("pcauth: refresh token guard row: %w", err)
	}
	return row.Version, resp.ETag, nil
}

// swapGuard points the guard row at version, If-Match etag (insert when
// etag is "").
func (k *KeyVaultStore) swapGuard(ctx context.Context, etag azcore.ETag, version string) error {
	body, err := json.Marshal(guardRow{Entity: aztables.Entity{PartitionKey: guardPartition, RowKey: k.name}, Version: version})
	if err != nil {
		return err
	}
	if etag == "" {
		_, err = k.guard.AddEntity(ctx, body, nil)
		return err
	}
	_, err = k.guard.UpdateEntity(ctx, body, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	return err
}

// guardError maps a guard table failure to *upstream.Error.
func guardError(err error) error {
	if err == nil {
		return nil
	}
	ue := &upstream.Error{Service: serviceTableStorage, Operation: "refresh token guard row"}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		ue.StatusCode, ue.Code = re.StatusCode, re.ErrorCode
		return ue
	}
	ue.Err = err
	return ue
}
