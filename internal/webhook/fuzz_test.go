package webhook

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseHeaders: any header values parse to a rejection or to headers
// that satisfy the documented invariants; nothing panics.
func FuzzParseHeaders(f *testing.F) {
	f.Add("Signature AAEC", "", "rsa-sha256", "https://3psostorageacct.blob.core.windows.net/cert/pcnotifications-dispatch.microsoft.com.cer")
	f.Add("", "Signature AAEC", "RSA-SHA256", "https://127.0.0.1:8443/cert/x.cer")
	f.Add("signature  AAEC", "", "rsa-sha1", "http://host/x")
	f.Add("Signature", "", "", "https://[::1]:0/%zz")
	f.Fuzz(func(t *testing.T, auth, alt, alg, certURL string) {
		h := map[string][]string{}
		for k, v := range map[string]string{HeaderAuthorization: auth, HeaderSignature: alt, HeaderSignatureAlgorithm: alg, HeaderCertificateURL: certURL} {
			if v != "" {
				h[k] = []string{v}
			}
		}
		got, err := ParseHeaders(h)
		if err != nil {
			rej, ok := AsRejection(err)
			if !ok || rej.Reason == "" || rej.Reason.BadRequest() {
				t.Fatalf("not a 401 rejection: %v", err)
			}
			if !utf8.ValidString(rej.Error()) && utf8.ValidString(auth+alt+alg+certURL) {
				t.Fatalf("rejection text is not UTF-8: %q", rej.Error())
			}
			return
		}
		if len(got.Signature) == 0 || got.CertificateURL == nil || !strings.EqualFold(got.CertificateURL.Scheme, "https") ||
			got.CertificateURL.Host == "" || got.CertificateURL.User != nil {
			t.Fatalf("accepted headers break the invariants: %+v", got)
		}
		if !strings.EqualFold(strings.TrimSpace(alg), AlgorithmRSASHA256) {
			t.Fatalf("accepted algorithm %q", alg)
		}
	})
}

// FuzzDecodeEvent: any body decodes to a malformed-body rejection or to an
// event with a name and a UTC time; a relationship id, if found, has only
// id characters.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"EventName":"granular-admin-relationship-activated","ResourceUri":"https://api.partnercenter.microsoft.com/v1/granularAdminRelationships/a-b","ResourceName":"GranularAdminRelationship","AuditUri":null,"ResourceChangeUtcDate":"2018-02-17T00:05:39.5485487+00:00"}`))
	f.Add([]byte(`{"EventName":"test-created","ResourceUri":"http://localhost:16722/v1/webhooks/registration/test","ResourceChangeUtcDate":"2017-11-16T16:19:06.3520276+00:00"}`))
	f.Add([]byte(`{"EventName":"x","ResourceUri":"/granularAdminRelationships//accessAssignments/1","ResourceChangeUtcDate":"2018-02-17T00:05:39Z"}`))
	f.Add([]byte(`{"EventName":1}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeEvent(body)
		if err != nil {
			rej, ok := AsRejection(err)
			if !ok || rej.Reason != ReasonMalformed {
				t.Fatalf("not a malformed-body rejection: %v", err)
			}
			return
		}
		if strings.TrimSpace(ev.EventName) == "" || ev.ResourceChangeUtcDate.Location().String() != "UTC" {
			t.Fatalf("accepted event breaks the invariants: %+v", ev)
		}
		if id, ok := ev.RelationshipID(); ok {
			if id == "" || len(id) > maxRelationshipIDLen || strings.ContainsAny(id, "/\"' \\%") {
				t.Fatalf("bad relationship id %q", id)
			}
		}
	})
}
