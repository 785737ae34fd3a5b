package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gdapflow/gdapflow/internal/bus"
	"github.com/gdapflow/gdapflow/internal/command"
	"github.com/gdapflow/gdapflow/internal/gdap"
	"github.com/gdapflow/gdapflow/internal/op"
)

// maxIDLen is the longest command id (docs/contract.md §2) and Service Bus
// MessageId.
const maxIDLen = 128

// Command id prefixes of the auto-extend policy. They start with
// op.ReservedPrefix: operation ids the service issues itself, which no
// command on the commands queue may take.
const (
	idPrefixAutoExtend = op.ReservedPrefix + "sweep.autoextend"
	idPrefixRemoveGA   = op.ReservedPrefix + "sweep.removega"
)

// commandID is the deterministic id of a policy command for a relationship
// and end date: "<prefix>.<relId>.<yyyymmdd>". A relationship id that is too
// long or holds characters outside [A-Za-z0-9._:-] is replaced by the hex
// SHA-256 of the id (first 32 digits).
func commandID(prefix, relID string, end time.Time) string {
	date := end.UTC().Format("20060102")
	id := prefix + "." + relID + "." + date
	if len(id) <= maxIDLen && validIDChars(relID) {
		return id
	}
	sum := sha256.Sum256([]byte(relID))
	return prefix + "." + hex.EncodeToString(sum[:16]) + "." + date
}

// validIDChars reports whether s is non-empty and uses only [A-Za-z0-9._:-].
func validIDChars(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idChar(s[i]) {
			return false
		}
	}
	return true
}

// idChar reports whether c is in [A-Za-z0-9._:-]: the contract's id
// alphabet, which is also safe in a Table Storage key.
func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:-", c) >= 0
}

// cloudEvent is a command in CloudEvents JSON structured mode.
type cloudEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"`
	DataContentType string `json:"datacontenttype"`
	Data            any    `json:"data"`
}

// updateData is the data of gdap.relationship.update issued by the policy.
type updateData struct {
	RelationshipID string            `json:"relationshipId"`
	Changes        map[string]string `json:"changes"`
}

// removeGAData is the data of gdap.relationship.removeGlobalAdmin.
type removeGAData struct {
	RelationshipID   string `json:"relationshipId"`
	EnableAutoExtend bool   `json:"enableAutoExtend"`
}

// policyCommand builds the message of an auto-extend action for a
// relationship: the command, carried in an op.KindCommand continuation
// (commands the service issues itself travel on the continuations queue),
// due at now. The command is fully deterministic (no time attribute), so a
// repeated sweep re-sends byte-identical content under the same id: the
// engine treats it as a redelivery and the broker's duplicate detection
// drops it. It returns the message and the command type.
func policyCommand(action string, rel gdap.Relationship, source string, now time.Time) (bus.Message, string, error) {
	ev := cloudEvent{SpecVersion: "1.0", Source: source, Subject: rel.ID, DataContentType: "application/json"}
	switch action {
	case actionUpdate:
		ev.ID = commandID(idPrefixAutoExtend, rel.ID, rel.EndDateTime)
		ev.Type = command.TypeRelationshipUpdate
		ev.Data = updateData{RelationshipID: rel.ID, Changes: map[string]string{"autoExtendDuration": gdap.AutoExtendOn}}
	case actionRemoveGA:
		ev.ID = commandID(idPrefixRemoveGA, rel.ID, rel.EndDateTime)
		ev.Type = command.TypeRemoveGlobalAdmin
		ev.Data = removeGAData{RelationshipID: rel.ID, EnableAutoExtend: true}
	default:
		return bus.Message{}, "", fmt.Errorf("sweep: unknown policy action %q", action)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return bus.Message{}, "", fmt.Errorf("sweep: encode %s command: %w", ev.Type, err)
	}
	m, err := op.NewContinuationMessage(op.Continuation{Kind: op.KindCommand, OperationID: ev.ID, Command: body}, ev.ID, ev.ID, now)
	if err != nil {
		return bus.Message{}, "", err
	}
	return m, ev.Type, nil
}
