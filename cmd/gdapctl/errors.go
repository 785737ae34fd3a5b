package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"
)

// Exit codes.
const (
	// exitOK: done; for send --wait, the operation succeeded.
	exitOK = 0
	// exitError: gdapctl could not do it (resource unreachable, missing
	// role, bad settings).
	exitError = 1
	// exitUsage: bad arguments, or a command that fails validation.
	exitUsage = 2
	// exitFailed: the operation failed or the command was rejected.
	exitFailed = 3
	// exitTimeout: no outcome before --timeout.
	exitTimeout = 4
)

// exitError carries an exit code with an error.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// usageErrorf is an exitUsage error.
func usageErrorf(format string, a ...any) error {
	return &codedError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// exitCodeOf maps an error to the process exit code.
func exitCodeOf(err error) int {
	if err == nil {
		return exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitError
}

// resource names what gdapctl tried to use, for error messages: what it
// is, where, and the Azure role that grants the access.
type resource struct {
	what  string // "the ledger table gdapoperations"
	where string // URL or namespace
	role  string // "Storage Table Data Reader on the storage account"
	local bool   // the make dev stack
}

// explain turns a failure to use r into a message that says what to do:
// start make dev, run az login, or which role is missing.
func explain(err error, r resource) error {
	if err == nil {
		return nil
	}
	var (
		re   *azcore.ResponseError
		sbe  *azservicebus.Error
		auth *azidentity.AuthenticationFailedError
		ne   *net.OpError
	)
	switch {
	case errors.As(err, &auth), strings.Contains(err.Error(), "DefaultAzureCredential: failed to acquire a token"):
		// The chain's "no credential available" error has no exported type.
		return fmt.Errorf("cannot use %s: no usable Azure credential (run `az login`, or set AZURE_* variables for a service principal): %w", r.what, err)
	case errors.As(err, &re) && (re.StatusCode == http.StatusForbidden || re.StatusCode == http.StatusUnauthorized):
		return fmt.Errorf("cannot use %s at %s: access denied (HTTP %d %s); your identity needs the role %q: %w",
			r.what, r.where, re.StatusCode, re.ErrorCode, r.role, err)
	case errors.As(err, &re) && re.ErrorCode == string(aztables.TableNotFound):
		return fmt.Errorf("cannot use %s at %s: the table does not exist (check --table-prefix, or the service has not run yet): %w", r.what, r.where, err)
	case errors.As(err, &sbe) && sbe.Code == azservicebus.CodeUnauthorizedAccess:
		return fmt.Errorf("cannot use %s in %s: access denied; your identity needs the role %q: %w", r.what, r.where, r.role, err)
	case errors.As(err, &sbe) && sbe.Code == azservicebus.CodeNotFound:
		return fmt.Errorf("cannot use %s in %s: not found (check the entity names): %w", r.what, r.where, err)
	case errors.As(err, &ne):
		if r.local {
			return fmt.Errorf("cannot reach %s at %s: is `make dev` running? (%w)", r.what, r.where, err)
		}
		return fmt.Errorf("cannot reach %s at %s (network, firewall or name): %w", r.what, r.where, err)
	}
	return fmt.Errorf("%s at %s: %w", r.what, r.where, err)
}
