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
