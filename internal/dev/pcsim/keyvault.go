package pcsim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"
)

type secretVersion struct {
	version     string
	value       string
	contentType string
	tags        map[string]string
	created     time.Time
}

var secretNameRE = regexp.MustCompile(`^[0-9A-Za-z-]{1,127}$`)

// SetSecret stores value as a new version of the Key Vault secret name and
// returns the version id.
func (s *Sim) SetSecret(name, value string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setSecretLocked(name, secretVersion{value: value}).version
}

// setSecretLocked stores v as a new version of the secret name and returns
// it with its version id and creation time set.
func (s *Sim) setSecretLocked(name string, v secretVersion) secretVersion {
	v.version = newID(16)
	v.created = s.opts.Clock.Now()
	key := strings.ToLower(name)
	s.secrets[key] = append(s.secrets[key], v)
	return v
}

// Secret returns the current value of the Key Vault secret name.
func (s *Sim) Secret(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	vs := s.secrets[strings.ToLower(name)]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1].value, true
}

// SecretVersions returns how many versions the secret name has.
func (s *Sim) SecretVersions(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.secrets[strings.ToLower(name)])
}

type kvError struct {
	Error kvErrorBody `json:"error"`
}

type kvErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeKVError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, kvError{kvErrorBody{Code: code, Message: message}})
}

// challenge answers 401 with Key Vault's authentication challenge, which
// azsecrets parses to learn the tenant and the resource to get a token for.
func (s *Sim) challenge(w http.ResponseWriter, message string) {
	tenant := s.opts.TenantID
	if tenant == "" {
		tenant = TenantIDDefault
	}
	w.Header().Set("WWW-Authenticate", `Bearer authorization="`+s.opts.LoginBaseURL+"/"+tenant+`", resource="`+s.opts.VaultResource+`"`)
	s.mu.Lock()
	s.counters.KeyVaultChallenges++
	s.mu.Unlock()
	writeKVError(w, http.StatusUnauthorized, "Unauthorized", message)
}

func (s *Sim) serveSecrets(w http.ResponseWriter, r *http.Request, body []byte) {
	rest := strings.TrimPrefix(r.URL.Path, "/secrets/")
	name, version, _ := strings.Cut(rest, "/")
	if strings.Contains(version, "/") || !secretNameRE.MatchString(name) {
		writeKVError(w, http.StatusBadRequest, "BadParameter", "The secret name or path is invalid.")
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeKVError(w, http.StatusBadRequest, "BadParameter", "The api-version query parameter is required.")
		return
	}
	tok, ok := bearer(r)
	if !ok {
		s.challenge(w, "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	if s.opts.KeyVaultToken != "" && tok != s.opts.KeyVaultToken {
		s.challenge(w, "AKV10032: Invalid token.")
		return
	}
	vault := "http://" + r.Host
	if r.TLS != nil {
		vault = "https://" + r.Host
	}
	key := strings.ToLower(name)
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		vs := s.secrets[key]
		var found *secretVersion
		for i := len(vs) - 1; i >= 0; i-- {
			if version == "" || vs[i].version == version {
				v := vs[i]
				found = &v
				break
			}
		}
		if found != nil {
			s.counters.SecretGets++
		}
		s.mu.Unlock()
		if found == nil {
			writeKVError(w, http.StatusNotFound, "SecretNotFound", "A secret with (name/id) "+name+" was not found in this key vault.")
			return
		}
		writeJSON(w, http.StatusOK, secretBundle(vault, name, *found))
	case http.MethodPut:
		if version != "" {
			writeKVError(w, http.StatusMethodNotAllowed, "BadParameter", "PUT is allowed on /secrets/{name} only.")
			return
		}
		var in struct {
			Value       *string           `json:"value"`
			ContentType string            `json:"contentType"`
			Tags        map[string]string `json:"tags"`
		}
		if err := json.Unmarshal(body, &in); err != nil || in.Value == nil {
			writeKVError(w, http.StatusBadRequest, "BadParameter", "The request body must be a JSON object with a string value.")
			return
		}
		s.mu.Lock()
		v := s.setSecretLocked(name, secretVersion{value: *in.Value, contentType: in.ContentType, tags: in.Tags})
		s.counters.SecretSets++
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, secretBundle(vault, name, v))
	default:
		w.Header().Set("Allow", "GET, PUT")
		writeKVError(w, http.StatusMethodNotAllowed, "BadParameter", "Only GET and PUT are supported on secrets.")
	}
}

func secretBundle(vault, name string, v secretVersion) map[string]any {
	ts := v.created.Unix()
	out := map[string]any{
		"value": v.value,
		"id":    vault + "/secrets/" + name + "/" + v.version,
		"attributes": map[string]any{
			"enabled": true, "created": ts, "updated": ts,
			"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90,
		},
	}
	if v.contentType != "" {
		out["contentType"] = v.contentType
	}
	if len(v.tags) > 0 {
		out["tags"] = v.tags
	}
	return out
}

// redactSecretBody renders a Key Vault request body for the journal with
// the secret value replaced.
func redactSecretBody(body []byte) string {
	if len(body) == 0 {
		return ""
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return "<unparsable body>"
	}
	if _, ok := obj["value"]; ok {
		obj["value"] = "<redacted>"
	}
	b, _ := json.Marshal(obj)
	return string(b)
}
