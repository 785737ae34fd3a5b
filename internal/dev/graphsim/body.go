package graphsim

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBody bounds request bodies (after decompression).
const maxBody = 4 << 20

// readBody reads and, for Content-Encoding gzip, decompresses the request
// body (rule 4).
func (s *Sim) readBody(r *http.Request) ([]byte, *apiError) {
	if r.Body == nil {
		return nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("The request body could not be read.")
	}
	if len(raw) > maxBody {
		return nil, tooLarge()
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return raw, nil
	case "gzip":
		if s.opts.RejectGzip {
			return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
				"Content-Encoding gzip is not supported.")
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, badRequest("The request body is labelled gzip but is not valid gzip.")
		}
		out, err := io.ReadAll(io.LimitReader(zr, maxBody+1))
		if err != nil {
			return nil, badRequest("The request body is labelled gzip but is not valid gzip.")
		}
		if len(out) > maxBody {
			return nil, tooLarge()
		}
		return out, nil
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"Content-Encoding '"+enc+"' is not supported.")
	}
}

func tooLarge() *apiError {
	return errorf(http.StatusRequestEntityTooLarge, "requestEntityTooLarge", "The request body is too large.")
}

// jsonBody checks Content-Type (rule 5), parses the body as one JSON object
// and applies p (rules 6, 22).
func (s *Sim) jsonBody(c *call, p propRules) (map[string]json.RawMessage, *apiError) {
	m, e := c.jsonObject()
	if e != nil {
		return nil, e
	}
	if e := s.checkProps(m, p); e != nil {
		return nil, e
	}
	return m, nil
}

// jsonObject checks Content-Type (rule 5) and parses the body as one JSON
// object.
func (c *call) jsonObject() (map[string]json.RawMessage, *apiError) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil, badRequest("A JSON request body is required.")
	}
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, errorf(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"Content-Type must be application/json.")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &m); err != nil || m == nil {
		return nil, badRequest("The request body is not a valid JSON object.")
	}
	return m, nil
}

// propRules says which body properties an entity accepts (rules 6, 22).
type propRules struct {
	entity   string // the entity type, named in error messages
	writable map[string]bool
	readOnly map[string]bool
}

func newPropRules(entity string, writable, readOnly []string) propRules {
	p := propRules{entity: entity, writable: map[string]bool{}, readOnly: map[string]bool{}}
	for _, k := range writable {
		p.writable[k] = true
	}
	for _, k := range readOnly {
		p.readOnly[k] = true
	}
	return p
}

// checkProps rejects unknown (rule 6) and read-only (rule 22) properties
// and, when the simulator is lenient, drops them from m.
func (s *Sim) checkProps(m map[string]json.RawMessage, p propRules) *apiError {
	for k := range m {
		switch {
		case p.writable[k]:
		case k == "@odata.type" || k == "@odata.etag":
			delete(m, k)
		case p.readOnly[k]:
			if !s.opts.AllowReadOnlyProperties {
				return badRequest("Property '" + k + "' of " + p.entity + " is read-only.")
			}
			delete(m, k)
		default:
			if !s.opts.AllowUnknownProperties {
				return badRequest("Property '" + k + "' does not exist on " + p.entity + ".")
			}
			delete(m, k)
		}
	}
	return nil
}

// stringProp decodes m[k] as a JSON string.
func stringProp(m map[string]json.RawMessage, k string) (string, bool, *apiError) {
	raw, ok := m[k]
	if !ok {
		return "", false, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", true, badRequest("Property '" + k + "' must be a string.")
	}
	return v, true, nil
}

// isNull reports whether raw is JSON null.
func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// decodeStrict decodes raw into v rejecting unknown fields (nested objects).
func (s *Sim) decodeStrict(raw json.RawMessage, v any, where string) *apiError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if !s.opts.AllowUnknownProperties {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return badRequest("Property '" + ute.Field + "' of " + where + " has the wrong type.")
		}
		return badRequest("Invalid " + where + ": " + err.Error())
	}
	return nil
}

// wireCustomer is the body shape of customer (delegatedAdminRelationshipCustomerParticipant).
type wireCustomer struct {
	ODataType   string  `json:"@odata.type"`
	TenantID    string  `json:"tenantId"`
	DisplayName *string `json:"displayName"`
}

// wireAccessDetails is the body shape of accessDetails.
type wireAccessDetails struct {
	ODataType    string `json:"@odata.type"`
	UnifiedRoles []struct {
		ODataType        string `json:"@odata.type"`
		RoleDefinitionID string `json:"roleDefinitionId"`
	} `json:"unifiedRoles"`
}

// decodeRoles decodes accessDetails into role ids.
func (s *Sim) decodeRoles(raw json.RawMessage) ([]string, *apiError) {
	if isNull(raw) {
		return nil, badRequest("accessDetails is required.")
	}
	var ad wireAccessDetails
	if e := s.decodeStrict(raw, &ad, "accessDetails"); e != nil {
		return nil, e
	}
	roles := make([]string, 0, len(ad.UnifiedRoles))
	for _, r := range ad.UnifiedRoles {
		roles = append(roles, r.RoleDefinitionID)
	}
	return roles, validateRoles(roles)
}
