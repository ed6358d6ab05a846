package token

import (
	"crypto/hmac"
	"encoding/base64"
	"hash"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// quickHMAC is the fast path of [Manager.Verify] for an HMAC Manager. A
// profile of Verify put three quarters of its time in the JWT library's
// generic decoding (the header into a map, every claim through
// encoding/json, each time and audience through a nested Unmarshal), so for
// the one shape of token this Manager writes the work is done here in a
// single pass, and the library stays the judge of everything else:
//
//   - The HMAC over the signing input is checked first, before any JSON is
//     read. A token whose signature does not verify is refused at once with
//     [ErrInvalid], which is what the library path returns for it too
//     (whatever its header says, it cannot pass with this key).
//   - A genuine token is accepted here only when its header segment is
//     byte for byte the one this Manager writes, its payload is a flat JSON
//     object in the plain form this package writes (known member names,
//     each once, strings without escapes, whole-second integer times, aud
//     an array of strings, no ext), and it passes every claim check. Such a
//     token means the same to encoding/json, so the claims are the ones the
//     library path would return.
//   - Anything else, a refusal included, goes to the library path, which
//     decides and gives the reason. So the quick path can only ever accept
//     a subset of what the library path accepts, and never refuses what it
//     would accept.
//
// It is safe for concurrent use.
type quickHMAC struct {
	header string // the header segment this Manager writes, base64url
	key    []byte
	hash   func() hash.Hash
	size   int // of the MAC, in bytes
	enc    *base64.Encoding
	rules  rules
	pool   sync.Pool // of *quickScratch
}

// quickScratch is the per-call memory of the quick path, pooled so that a
// verification allocates only what it returns.
type quickScratch struct {
	mac hash.Hash // keyed; Reset restores the keyed state
	buf []byte    // the token, then the decoded payload after it
	sum [64]byte
	sig [64]byte
}

// errSignature is the quick path's refusal of a signature that does not
// verify; made once so that refusing a forgery allocates nothing.
var errSignature = invalid("signature is invalid")

// newQuickHMAC returns the quick path for an HMAC Manager whose tokens have
// the header {"alg":alg,"typ":"JWT"}, or nil for another method.
func newQuickHMAC(method jwt.SigningMethod, key []byte, r rules) *quickHMAC {
	hm, ok := method.(*jwt.SigningMethodHMAC)
	if !ok || !hm.Hash.Available() {
		return nil
	}
	// What jwt.Token.SigningString writes for a header without kid: the
	// map's keys in sorted order.
	hdr := `{"alg":"` + hm.Name + `","typ":"JWT"}`
	q := &quickHMAC{
		header: base64.RawURLEncoding.EncodeToString([]byte(hdr)),
		key:    key,
		hash:   hm.Hash.New,
		size:   hm.Hash.Size(),
		enc:    base64.RawURLEncoding.Strict(),
		rules:  r,
	}
	q.pool.New = func() any { return &quickScratch{mac: hmac.New(q.hash, q.key)} }
	return q
}

// verify returns done false when the library path must decide; with done
// true, it has the answer: the claims, or errSignature. s has passed
// precheck: base64url characters and exactly two dots.
func (q *quickHMAC) verify(s string, want Type) (c Claims, done bool, err error) {
	sc := q.pool.Get().(*quickScratch)
	defer q.pool.Put(sc)

	hdrEnd := indexDot(s, 0)
	payEnd := indexDot(s, hdrEnd+1)
	sc.buf = append(sc.buf[:0], s...)
	signing, sigSeg := sc.buf[:payEnd], sc.buf[payEnd+1:]

	if q.enc.DecodedLen(len(sigSeg)) != q.size {
		return Claims{}, true, errSignature
	}
	if n, err := q.enc.Decode(sc.sig[:], sigSeg); err != nil || n != q.size {
		return Claims{}, true, errSignature
	}
	sc.mac.Reset()
	sc.mac.Write(signing)
	if !hmac.Equal(sc.mac.Sum(sc.sum[:0]), sc.sig[:q.size]) {
		return Claims{}, true, errSignature
	}

	if s[:hdrEnd] != q.header {
		return Claims{}, false, nil
	}
	// The decoded payload goes after the token in the same buffer.
	dl := q.enc.DecodedLen(payEnd - hdrEnd - 1)
	sc.buf = slices.Grow(sc.buf, dl)
	out := sc.buf[len(sc.buf) : len(sc.buf)+dl]
	n, err := q.enc.Decode(out, sc.buf[hdrEnd+1:payEnd])
	if err != nil {
		return Claims{}, false, nil
	}
	var w flatClaims
	if !w.parse(string(out[:n])) {
		return Claims{}, false, nil
	}
	if !w.valid(q.rules, want) {
		return Claims{}, false, nil
	}
	return w.claims(), true, nil
}

// indexDot returns the index of the first '.' in s at or after from; s has
// one there.
func indexDot(s string, from int) int {
	for i := from; i < len(s); i++ {
		if s[i] == '.' {
			return i
		}
	}
	return len(s)
}

// The members of the payload, as bits of flatClaims.seen.
const (
	seenType uint16 = 1 << iota
	seenUserID
	seenSession
	seenAuthTime
	seenSuperuser
	seenIssuer
	seenSubject
	seenAudience
	seenExpires
	seenNotBefore
	seenIssuedAt
	seenID
	seenAMR
)

// maxQuickAudience and maxQuickAMR bound the audiences and methods the
// quick path reads; more go to the library path.
const (
	maxQuickAudience = 4
	maxQuickAMR      = 4
)

// flatClaims is a payload read by the quick path.
type flatClaims struct {
	seen                            uint16 // the members read
	typ, userID, sid, iss, sub, jti string
	aud                             [maxQuickAudience]string
	nAud                            int
	amr                             [maxQuickAMR]string
	nAMR                            int
	exp, iat, nbf, authTime         int64
	superuser                       bool

	src string // the payload
	pos int    // how far parse has read
}

// parse reads src, reporting false for anything outside the plain form
// described on quickHMAC.
func (w *flatClaims) parse(src string) bool {
	w.src, w.pos = src, 0
	if !w.skipByte('{') {
		return false
	}
	for {
		name, ok := w.str()
		if !ok || !w.skipByte(':') || !w.member(name) {
			return false
		}
		if w.skipByte('}') {
			break
		}
		if !w.skipByte(',') {
			return false
		}
	}
	w.ws()
	return w.pos == len(w.src)
}

// member reads the value of the member name.
func (w *flatClaims) member(name string) bool {
	var bit uint16
	var ok bool
	switch name {
	case "token_type":
		bit = seenType
		w.typ, ok = w.str()
	case "user_id":
		bit = seenUserID
		w.userID, ok = w.str()
	case "sid":
		bit = seenSession
		w.sid, ok = w.str()
	case "iss":
		bit = seenIssuer
		w.iss, ok = w.str()
	case "sub":
		bit = seenSubject
		w.sub, ok = w.str()
	case "jti":
		bit = seenID
		w.jti, ok = w.str()
	case "exp":
		bit = seenExpires
		w.exp, ok = w.seconds()
	case "iat":
		bit = seenIssuedAt
		w.iat, ok = w.seconds()
	case "nbf":
		bit = seenNotBefore
		w.nbf, ok = w.seconds()
	case "auth_time":
		bit = seenAuthTime
		w.authTime, ok = w.seconds()
	case "is_superuser":
		bit = seenSuperuser
		w.superuser, ok = w.boolean()
	case "aud":
		bit = seenAudience
		ok = w.audience()
	case "amr":
		bit = seenAMR
		ok = w.methods()
	default:
		// ext, an unknown member, or a known one spelled in another case
		// (which encoding/json would still match): the library decides.
		return false
	}
	if !ok || w.seen&bit != 0 {
		return false
	}
	w.seen |= bit
	return true
}

// ws skips JSON white space.
func (w *flatClaims) ws() {
	for w.pos < len(w.src) {
		switch w.src[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// skipByte skips white space and then b, reporting whether b was there.
func (w *flatClaims) skipByte(b byte) bool {
	w.ws()
	if w.pos < len(w.src) && w.src[w.pos] == b {
		w.pos++
		return true
	}
	return false
}

// str reads a string without escapes or control characters, in valid
// UTF-8: one that encoding/json decodes to exactly its bytes.
func (w *flatClaims) str() (string, bool) {
	if !w.skipByte('"') {
		return "", false
	}
	start, ascii := w.pos, true
	for w.pos < len(w.src) {
		c := w.src[w.pos]
		switch {
		case c == '"':
			s := w.src[start:w.pos]
			w.pos++
			if !ascii && !utf8.ValidString(s) {
				return "", false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		w.pos++
	}
	return "", false
}

// maxQuickDigits bounds the integers the quick path reads, so that each is
// exact as the float64 the library parses it into.
const maxQuickDigits = 15

// seconds reads a positive integer without sign, fraction, exponent or
// leading zero.
func (w *flatClaims) seconds() (int64, bool) {
	w.ws()
	start := w.pos
	var n int64
	for w.pos < len(w.src) && '0' <= w.src[w.pos] && w.src[w.pos] <= '9' {
		n = n*10 + int64(w.src[w.pos]-'0')
		w.pos++
	}
	digits := w.pos - start
	if digits == 0 || digits > maxQuickDigits || w.src[start] == '0' {
		return 0, false
	}
	return n, true
}

// boolean reads true or false.
func (w *flatClaims) boolean() (bool, bool) {
	w.ws()
	rest := w.src[w.pos:]
	switch {
	case len(rest) >= 4 && rest[:4] == "true":
		w.pos += 4
		return true, true
	case len(rest) >= 5 && rest[:5] == "false":
		w.pos += 5
		return false, true
	}
	return false, false
}

// audience reads a non-empty array of at most maxQuickAudience strings.
func (w *flatClaims) audience() bool {
	if !w.skipByte('[') {
		return false
	}
	for w.nAud = 0; ; {
		if w.nAud == maxQuickAudience {
			return false
		}
		s, ok := w.str()
		if !ok {
			return false
		}
		w.aud[w.nAud] = s
		w.nAud++
		if w.skipByte(']') {
			return true
		}
		if !w.skipByte(',') {
			return false
		}
	}
}

// methods reads a non-empty array of at most maxQuickAMR strings (an
// empty one, which this package never writes, goes to the library path).
func (w *flatClaims) methods() bool {
	if !w.skipByte('[') {
		return false
	}
	for w.nAMR = 0; ; {
		if w.nAMR == maxQuickAMR {
			return false
		}
		s, ok := w.str()
		if !ok {
			return false
		}
		w.amr[w.nAMR] = s
		w.nAMR++
		if w.skipByte(']') {
			return true
		}
		if !w.skipByte(',') {
			return false
		}
	}
}

// valid applies every check of the library path (the parser's options and
// wireClaims.Validate) and reports whether all pass.
func (w *flatClaims) valid(r rules, want Type) bool {
	const required = seenType | seenUserID | seenIssuer | seenSubject | seenAudience | seenExpires | seenIssuedAt | seenID
	if w.seen&required != required {
		return false
	}
	now := r.now()
	exp, iat := time.Unix(w.exp, 0), time.Unix(w.iat, 0)
	switch {
	case !now.Before(exp.Add(r.leeway)),
		now.Before(iat.Add(-r.leeway)),
		w.seen&seenNotBefore != 0 && now.Before(time.Unix(w.nbf, 0).Add(-r.leeway)),
		w.iss != r.issuer,
		!w.hasAudience(r.audience),
		!exp.After(iat),
		w.sub == "", w.userID == "", w.jti == "",
		Type(w.typ) != TypeAccess && Type(w.typ) != TypeRefresh,
		Type(w.typ) != want,
		Type(w.typ) == TypeRefresh && w.sid == "":
		return false
	}
	return true
}

func (w *flatClaims) hasAudience(aud string) bool {
	if aud == "" {
		return false
	}
	for _, a := range w.aud[:w.nAud] {
		if a == aud {
			return true
		}
	}
	return false
}

// claims returns what wireClaims.claims returns for the same payload.
func (w *flatClaims) claims() Claims {
	c := Claims{
		ID:        w.jti,
		Type:      Type(w.typ),
		Subject:   w.sub,
		UserID:    w.userID,
		SessionID: w.sid,
		Superuser: w.superuser,
		Issuer:    w.iss,
		Audience:  append([]string(nil), w.aud[:w.nAud]...),
		IssuedAt:  time.Unix(w.iat, 0).UTC(),
		ExpiresAt: time.Unix(w.exp, 0).UTC(),
	}
	if w.seen&seenAuthTime != 0 {
		c.AuthTime = time.Unix(w.authTime, 0).UTC()
	}
	if w.seen&seenAMR != 0 {
		c.AMR = append([]string(nil), w.amr[:w.nAMR]...)
	}
	return c
}
