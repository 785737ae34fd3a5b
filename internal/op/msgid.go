package op

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxMessageIDLen is Service Bus's MessageId limit.
const MaxMessageIDLen = 128

// MessageID returns a deterministic Service Bus message id built from parts
// joined by ".", hashed when it would exceed MaxMessageIDLen.
func MessageID(parts ...string) string {
	id := strings.Join(parts, ".")
	if len(id) <= MaxMessageIDLen {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return id[:MaxMessageIDLen-33] + "~" + hex.EncodeToString(sum[:16])
}

// ReservedPrefix starts the operation ids of commands the service issues
// itself (sweep policy actions); such an id arriving on the commands queue is
// rejected.
const ReservedPrefix = "gdapflow."

// FollowUpID returns the id of the follow-up operation that waits on the
// customer's approval of relationship relID (docs/contract.md §6.1):
// "gdapflow.followup.<relId>". One relationship has at most one, so whoever
// sees the relationship change (the sweep, a webhook) can wake it by id. A
// relationship id outside the id alphabet [A-Za-z0-9._:-], or too long, is
// replaced by the hex SHA-256 of the id (first 32 digits).
func FollowUpID(relID string) string {
	const prefix = ReservedPrefix + "followup."
	if relID != "" && len(prefix)+len(relID) <= MaxMessageIDLen && strings.Trim(relID,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == "" {
		return prefix + relID
	}
	sum := sha256.Sum256([]byte(relID))
	return prefix + hex.EncodeToString(sum[:16])
}
