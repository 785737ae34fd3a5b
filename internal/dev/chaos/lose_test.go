package chaos

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTableWriteKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path, body, want string
	}{
		{"GET", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", "", ""},
		{"POST", "/devstoreaccount1/t1operations", `{"State":"running"}`, WriteInsert},
		{"PUT", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", `{"State":"running"}`, WriteClaim},
		{"PUT", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", `{"State":"waiting"}`, WriteWait},
		{"PUT", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", `{"State":"failed","OutcomePublished":false}`, WriteFinish},
		{"PUT", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", `{"State":"succeeded"}`, WriteFinish},
		{"PUT", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", `{"State":"succeeded","OutcomePublished":true}`, WritePublish},
		{"PUT", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", `not json`, WriteOther},
		{"DELETE", "/devstoreaccount1/t1operations(PartitionKey='a',RowKey='a')", "", WriteOther},
		{"POST", "/devstoreaccount1/t1sweep", `{}`, WriteSweep},
		{"MERGE", "/devstoreaccount1/t1sweep(PartitionKey='a',RowKey='b')", `{}`, WriteSweep},
		{"PUT", "/devstoreaccount1/t1sweep(PartitionKey='pages',RowKey='00000001')", `{}`, WriteSweep},
		{"PUT", "/devstoreaccount1/t1sweep(PartitionKey='sweep',RowKey='state')", `{"Phase":"listing"}`, WriteSweepState},
		{"POST", "/devstoreaccount1/t1sweep", `{"PartitionKey":"sweep","RowKey":"state"}`, WriteSweepState},
		{"POST", "/devstoreaccount1/$batch", "--batch_1\r\nContent-Type: multipart/mixed\r\n\r\n--changeset_1\r\n" +
			"PUT http://127.0.0.1:10002/devstoreaccount1/t1sweep(PartitionKey='rel-3',RowKey='x') HTTP/1.1\r\n", WriteSweep},
		{"POST", "/devstoreaccount1/$batch", "--changeset_1\r\nPOST http://127.0.0.1:10002/devstoreaccount1/t1operations HTTP/1.1\r\n", WriteInsert},
		{"PUT", "/devstoreaccount1/t1due(PartitionKey='~due.0',RowKey='x')", `{}`, WriteDue},
		{"DELETE", "/devstoreaccount1/t1due(PartitionKey='~due.0',RowKey='x')", "", WriteDue},
		{"POST", "/devstoreaccount1/Tables", `{"TableName":"x"}`, WriteOther},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "http://gate"+tt.path, nil)
		require.Equal(t, tt.want, tableWriteKind(r, []byte(tt.body)), "%s %s %s", tt.method, tt.path, tt.body)
	}
}

func TestDroppableContinuation(t *testing.T) {
	t.Parallel()
	msg := func(subject, kind string) string {
		return `{"messageId":"m","subject":"` + subject + `","applicationProperties":{"kind":"` + kind + `","operationId":"op-1"}}`
	}
	tests := []struct {
		path, body string
		ok         bool
	}{
		{"/gdap-continuations/messages", msg("gdap.continuation", "resume"), true},
		{"/gdap-continuations/messages", msg("gdap.continuation", "leaseCheck"), true},
		{"/gdap-continuations/messages", msg("gdap.continuation", "deferred"), false},
		{"/gdap-continuations/messages", msg("gdap.continuation", "sweep"), false},
		{"/gdap-continuations/messages", msg("other", "resume"), false},
		{"/gdap-events/messages", msg("gdap.continuation", "resume"), false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "http://gate"+tt.path, nil)
		id, ok := droppableContinuation(r, []byte(tt.body))
		require.Equal(t, tt.ok, ok, "%s %s", tt.path, tt.body)
		if ok {
			require.Equal(t, "op-1", id)
		}
	}
}

func TestLoserArmsKindsInTurn(t *testing.T) {
	t.Parallel()
	l := newLoser()
	for range len(writeKinds) + 1 {
		l.armWrite()
	}
	ok, hang := l.take(WriteInsert, "")
	require.True(t, ok)
	require.False(t, hang)
	ok, hang = l.take(WriteInsert, "")
	require.True(t, ok, "the armed loss after one of each kind went to insert again")
	require.True(t, hang, "every other loss hangs")
	ok, _ = l.take(WriteInsert, "")
	require.False(t, ok)
	ok, _ = l.take(WriteSweep, "")
	require.True(t, ok)
	l.disarm()
	ok, _ = l.take(WriteClaim, "")
	require.False(t, ok, "disarmed")
	lost, _ := l.counts()
	require.Equal(t, map[string]int{WriteInsert: 2, WriteSweep: 1}, lost)
}
