package graphsim

import (
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
)

// newGUID formats 16 random bytes from rng as a version-4 GUID.
func newGUID(rng *rand.Rand) string {
	var b [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (8 * i))
		b[8+i] = byte(lo >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// newRelationshipID returns the relationship id shape `<guid>-<guid>` (rule 14).
func newRelationshipID(rng *rand.Rand) string {
	return newGUID(rng) + "-" + newGUID(rng)
}

// isGUID reports whether s is a GUID in 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// etagString renders version n of an entity as a Graph weak ETag: W/"…"
// whose payload is base64 of '"<opaque Cosmos-style etag>"' (rule 15).
func etagString(n uint64) string {
	mix := (n * 0x9e3779b97f4a7c15) >> 16
	opaque := make([]byte, 0, 40)
	opaque = append(opaque, '\'', '"')
	opaque = appendHexPad(opaque, n&0xffffffff, 8)
	opaque = append(opaque, "-0000-1900-0000-"...)
	opaque = appendHexPad(opaque, mix&0xffffffffffff, 12)
	opaque = append(opaque, '"', '\'')
	out := make([]byte, 0, 64)
	out = append(out, 'W', '/', '"')
	out = base64.StdEncoding.AppendEncode(out, opaque)
	out = append(out, '"')
	return string(out)
}

func appendHexPad(b []byte, v uint64, width int) []byte {
	s := strconv.FormatUint(v, 16)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
