package devstack

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// FeedMessage is one message of the dev feed: a message published to a
// topic, as a subscriber would receive it.
type FeedMessage struct {
	SequenceNumber int64     `json:"sequenceNumber"`
	MessageID      string    `json:"messageId"`
	CorrelationID  string    `json:"correlationId,omitempty"`
	Subject        string    `json:"subject,omitempty"`
	ContentType    string    `json:"contentType,omitempty"`
	EnqueuedTime   time.Time `json:"enqueuedTime"`
	// Body is the message body (base64 in JSON).
	Body []byte `json:"body"`
}

// FeedPage is the answer of GET /topics/{topic}/messages?from=N: the
// messages from index N on, and the index to ask for next.
type FeedPage struct {
	Messages []FeedMessage `json:"messages"`
	Next     int           `json:"next"`
}

// FeedHandler serves, for local tools such as gdapctl (the local broker
// only accepts messages):
//
//	GET /topics/{topic}/messages?from=N  FeedPage: messages published to topic, from index N
//	GET /clock                           {"now": "<virtual time, RFC 3339>"}
func FeedHandler(s *Stack) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /topics/{topic}/messages", func(w http.ResponseWriter, r *http.Request) {
		from := 0
		if v := r.URL.Query().Get("from"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				http.Error(w, "from must be a non-negative integer", http.StatusBadRequest)
				return
			}
			from = n
		}
		all := s.Emu.Published(r.PathValue("topic"))
		page := FeedPage{Messages: []FeedMessage{}, Next: max(from, len(all))}
		for _, d := range all[min(from, len(all)):] {
			page.Messages = append(page.Messages, FeedMessage{
				SequenceNumber: d.SequenceNumber, MessageID: d.MessageID, CorrelationID: d.CorrelationID,
				Subject: d.Subject, ContentType: d.ContentType, EnqueuedTime: d.EnqueuedTime, Body: d.Body,
			})
		}
		writeJSON(w, page)
	})
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]time.Time{"now": s.Clock.Now()})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
